"""The benchmark case the worker tests start."""

# the quickest case: a tiny model's video-only forward pass
SETUP = dict(arch='tiny', case='infer-videoonly', dtype='fp32', batch=1,
             device='cpu', with_cp=False, warmup=0, memory=False)
