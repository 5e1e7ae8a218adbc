# Model inputs (README "Model input contract"): ImageNet normalization of the
# 0-255 RGB frames happens here; the audio is normalized in the pipeline.
data_preprocessor = dict(
    type='MultiModalDataPreprocessor',
    preprocessors=dict(
        imgs=dict(
            type='ActionDataPreprocessor',
            mean=[123.675, 116.28, 103.53],
            std=[58.395, 57.12, 57.375],
            format_shape='NCHW'),
        audio=dict(type='ActionDataPreprocessor', format_shape='NCHW')))
