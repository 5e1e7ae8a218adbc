"""AVEmbeddingModel: any CAV-MAE model's retrieval embeddings in the test
loop."""
import pytest
import torch

from cavmae_mm.models import AVEmbeddingModel
from mmaction.structures import ActionDataSample


def batch(num=2):
    return dict(
        inputs=dict(audio=[torch.randn(1024, 128) for _ in range(num)],
                    imgs=[torch.randint(0, 256, (1, 3, 224, 224),
                                        dtype=torch.uint8)
                          for _ in range(num)]),
        data_samples=[ActionDataSample() for _ in range(num)])


@pytest.mark.parametrize('model', ['tiny_finetune', 'tiny_pretrain'])
def test_stores_the_models_embeddings(model, request):
    model = request.getfixturevalue(model)
    wrapper = AVEmbeddingModel(model)
    data = batch()
    with torch.no_grad():
        samples = wrapper.test_step(data)
        inputs = model.data_preprocessor(data, False)['inputs']
        expected = model.extract_embeddings(inputs)
        # without data samples: the embeddings themselves
        plain = wrapper(inputs)
    for i, sample in enumerate(samples):
        assert torch.equal(sample.audio_feature, expected['audio'][i])
        assert torch.equal(sample.visual_feature, expected['visual'][i])
    assert set(plain) == {'audio', 'visual'}
    assert torch.equal(plain['visual'], expected['visual'])
    with pytest.raises(RuntimeError, match='only predicts'):
        wrapper(inputs, mode='loss')
