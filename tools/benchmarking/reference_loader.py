"""A re-implementation of the reference's data loader (its wav + JPEG path,
SPEC §2), the baseline of ``tools/benchmark.py data``."""
import json
import os.path as osp
import random

import numpy as np


class ReferenceStyleLoader:
    """The reference's ``AudiosetDataset.__getitem__`` re-stated (SPEC §2)
    for timing: waveform file -> mean removal (-> mixup) -> Kaldi fbank ->
    pad/cut -> SpecAugment -> normalize -> noise; PIL frame ->
    torchvision Resize/CenterCrop/ToTensor/Normalize; label vector.
    ``torchaudio.load`` needs torchcodec with torchaudio 2.9, so the wav is
    read with soundfile (the same samples)."""

    def __init__(self, ann_file, label_csv, recipe, target_length=1024):
        import PIL
        import torchaudio
        import torchvision.transforms as T
        from cavmae_mm.datasets.class_labels import load_label_csv
        with open(ann_file) as f:
            self.data = json.load(f)['data']
        self.index = {
            row['mid']: int(row['index'])
            for row in load_label_csv(label_csv)
        }
        self.recipe = recipe
        self.target_length = target_length
        self.freq_masking = torchaudio.transforms.FrequencyMasking(
            recipe['freqm'])
        self.time_masking = torchaudio.transforms.TimeMasking(
            recipe['timem'])
        self.preprocess = T.Compose([
            T.Resize(224, interpolation=PIL.Image.BICUBIC),
            T.CenterCrop(224),
            T.ToTensor(),
            T.Normalize(
                mean=[0.4850, 0.4560, 0.4060], std=[0.2290, 0.2240, 0.2250])
        ])

    def __len__(self):
        return len(self.data)

    def _load(self, path):
        import soundfile
        import torch
        waveform, sample_rate = soundfile.read(path, dtype='float32')
        return torch.from_numpy(waveform).reshape(1, -1), sample_rate

    def _fbank(self, path, path2=None, mix_lambda=-1.0):
        import torch
        import torchaudio
        waveform, sample_rate = self._load(path)
        waveform = waveform - waveform.mean()
        if path2 is not None:
            waveform2, _ = self._load(path2)
            waveform2 = waveform2 - waveform2.mean()
            if waveform2.shape[1] < waveform.shape[1]:
                padded = torch.zeros(1, waveform.shape[1])
                padded[0, :waveform2.shape[1]] = waveform2
                waveform2 = padded
            else:
                waveform2 = waveform2[:, :waveform.shape[1]]
            mix = mix_lambda * waveform + (1 - mix_lambda) * waveform2
            waveform = mix - mix.mean()
        fbank = torchaudio.compliance.kaldi.fbank(
            waveform, htk_compat=True, sample_frequency=sample_rate,
            use_energy=False, window_type='hanning', num_mel_bins=128,
            dither=0.0, frame_shift=10)
        pad = self.target_length - fbank.shape[0]
        if pad > 0:
            fbank = torch.nn.ZeroPad2d((0, 0, 0, pad))(fbank)
        elif pad < 0:
            fbank = fbank[:self.target_length]
        return fbank

    def _frame(self, datum):
        frame_idx = random.randint(0, 9)
        while frame_idx >= 1 and not osp.exists(
                f'{datum["video_path"]}/frame_{frame_idx}/'
                f'{datum["video_id"]}.jpg'):
            frame_idx -= 1
        return (f'{datum["video_path"]}/frame_{frame_idx}/'
                f'{datum["video_id"]}.jpg')

    def _image(self, path):
        from PIL import Image
        return self.preprocess(Image.open(path))

    def __getitem__(self, index):
        import torch
        eps, num = self.recipe['label_smooth'], len(self.index)
        datum = self.data[index]
        label = np.zeros(num) + eps / num
        if random.random() < self.recipe['mixup']:
            other = self.data[random.randint(0, len(self.data) - 1)]
            mix_lambda = np.random.beta(10, 10)
            fbank = self._fbank(datum['wav'], other['wav'], mix_lambda)
            image = mix_lambda * self._image(self._frame(datum)) + (
                1 - mix_lambda) * self._image(self._frame(other))
            for mid in datum['labels'].split(','):
                label[self.index[mid]] += mix_lambda * (1 - eps)
            for mid in other['labels'].split(','):
                label[self.index[mid]] += (1 - mix_lambda) * (1 - eps)
        else:
            fbank = self._fbank(datum['wav'])
            image = self._image(self._frame(datum))
            for mid in datum['labels'].split(','):
                label[self.index[mid]] = 1 - eps
        fbank = fbank.t().unsqueeze(0)  # [1, F, T]
        if self.recipe['freqm']:
            fbank = self.freq_masking(fbank)
        if self.recipe['timem']:
            fbank = self.time_masking(fbank)
        fbank = fbank.squeeze(0).t()
        fbank = (fbank - (-5.081)) / 4.4849
        if self.recipe['noise']:
            fbank = fbank + torch.rand(fbank.shape) * np.random.rand() / 10
            fbank = torch.roll(
                fbank,
                np.random.randint(-self.target_length, self.target_length),
                0)
        return fbank, image, torch.FloatTensor(label)
