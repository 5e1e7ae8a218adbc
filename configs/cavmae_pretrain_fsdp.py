# AudioSet-2M pre-training with fully sharded data parallelism (FSDP)
# through MMEngine's FlexibleRunner, for models or batches that outgrow
# DDP: parameters, gradients and optimizer states are sharded across the
# processes; each transformer block is an FSDP unit
# (cavmae_mm/engine/fsdp.py).
#   bash tools/dist_train.sh configs/cavmae_pretrain_fsdp.py 4
# Mixed precision is FSDP's own (parameters and compute in float16,
# reductions in float32), so the optimizer wrapper is the plain one. For
# DeepSpeed use strategy=dict(type='DeepSpeedStrategy', ...) and
# optim_wrapper=dict(type='DeepSpeedOptimWrapper', ...) (pip install
# deepspeed; GPUs only).
_base_ = ['./cavmae_pretrain.py']

runner_type = 'FlexibleRunner'
strategy = dict(
    type='FSDPStrategy',
    model_wrapper=dict(
        auto_wrap_policy='cavmae_block_wrap_policy',
        mixed_precision=dict(
            param_dtype='float16',
            reduce_dtype='float32',
            buffer_dtype='float32'),
        use_orig_params=True),
    # Checkpoints hold the full (unsharded) model, usable by tools/test.py
    # and for fine-tuning; 'local' saves one shard file per process.
    state_dict_cfg='full')
optim_wrapper = dict(_delete_=True, type='OptimWrapper',
                     optimizer={{_base_.optim_wrapper.optimizer}})
