# AudioSet-2M pre-training initialized from an ImageNet MAE ViT-B, as the
# reference (SPEC §5): convert the MAE checkpoint first,
#   python tools/adapt_imagenet_mae.py mae_pretrain_vit_base_full.pth \
#       work_dirs/cavmae_init_from_mae.pth
#   bash tools/dist_train.sh configs/cavmae_pretrain_from_imagenet_mae.py 4
# What the MAE has no counterpart for (modality embeddings, the unused norm
# copies) keeps the model's own initialization.
_base_ = ['./cavmae_pretrain.py']

load_from = 'work_dirs/cavmae_init_from_mae.pth'
