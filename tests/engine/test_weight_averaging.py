"""StateDictAverager and average_state_dicts
(cavmae_mm/engine/weight_averaging.py)."""
import pytest
import torch

from cavmae_mm.engine import StateDictAverager, average_state_dicts


def test_state_dict_averager_is_the_plain_mean():
    dicts = [dict(w=torch.tensor([1., 2.], dtype=torch.float16),
                  n=torch.tensor(i)) for i in range(3)]
    dicts[1]['w'] = torch.tensor([4., 8.], dtype=torch.float16)
    mean = average_state_dicts(dicts)
    assert mean['w'].dtype == torch.float16
    assert mean['w'].tolist() == [2., 4.]
    assert mean['n'].item() == 2  # integer buffers keep the latest value
    averager = StateDictAverager()
    averager.add(dicts[0])
    restored = StateDictAverager()
    restored.load_state_dict(averager.state_dict())
    restored.add(dicts[1])
    assert restored.average()['w'].tolist() == [2.5, 5.]
    with pytest.raises(KeyError):
        restored.add(dict(w=torch.zeros(2)))
