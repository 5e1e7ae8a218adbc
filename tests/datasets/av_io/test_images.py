"""Decoding images (cavmae_mm/datasets/av_io/images.py): pre-extracted
frames in the reference layout, EXIF orientation, grayscale."""
import numpy as np
import pytest

from cavmae_mm.datasets.av_io import (AVDataError, frame_jpeg_path,
                                      read_frame_jpegs, read_image)


def test_frame_jpegs_fall_back_to_lower_positions(tmp_path):
    from PIL import Image
    for position in (0, 1, 2):
        path = frame_jpeg_path(str(tmp_path), 'vid', position)
        (tmp_path / f'frame_{position}').mkdir()
        Image.fromarray(np.full((8, 8, 3), 30 * position,
                                np.uint8)).save(path)
    frames, used = read_frame_jpegs(str(tmp_path), 'vid', [1, 5, 9])
    assert used == [1, 2, 2]
    assert abs(float(frames[1].mean()) - 60) < 2
    # Grayscale JPEGs are converted to RGB, as the reference's PIL path.
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(
        frame_jpeg_path(str(tmp_path), 'vid', 0))
    assert read_frame_jpegs(str(tmp_path), 'vid', [0])[0][0].shape == (8, 8,
                                                                       3)
    with pytest.raises(AVDataError, match='missing frame'):
        read_frame_jpegs(str(tmp_path), 'other', [5])
    with open(frame_jpeg_path(str(tmp_path), 'vid', 1), 'wb') as f:
        f.write(b'not a jpeg')
    with pytest.raises(AVDataError, match='cannot decode image'):
        read_frame_jpegs(str(tmp_path), 'vid', [1])


def save_jpeg_with_orientation(path, pixels, orientation):
    """Save ``pixels`` as a JPEG whose EXIF says how to turn it upright."""
    from PIL import Image
    exif = Image.Exif()
    exif[0x0112] = orientation  # Orientation tag
    Image.fromarray(pixels).save(path, exif=exif, quality=95)
    return str(path)


def test_read_image_turns_exif_rotated_jpegs_upright(tmp_path):
    """A camera JPEG stored sideways with orientation 6 ("rotate 90 CW to
    view") decodes as a viewer shows it; a tag-less JPEG is unchanged."""
    stored = np.zeros((40, 80, 3), np.uint8)  # [H, W, 3]: landscape
    stored[:, :40] = 255  # left half white, right half black
    plain = str(tmp_path / 'plain.jpg')
    from PIL import Image
    Image.fromarray(stored).save(plain, quality=95)
    decoded = read_image(plain)
    assert decoded.shape == (40, 80, 3) and decoded.dtype == np.uint8
    with Image.open(plain) as image:  # the reference's decoding
        np.testing.assert_array_equal(decoded,
                                      np.asarray(image.convert('RGB')))

    rotated = read_image(save_jpeg_with_orientation(
        tmp_path / 'rotated.jpg', stored, orientation=6))
    # Turned 90 degrees clockwise: portrait, the white half on top.
    assert rotated.shape == (80, 40, 3)
    assert rotated[:35].mean() > 200 and rotated[45:].mean() < 50
    np.testing.assert_allclose(rotated, np.rot90(decoded, k=-1), atol=8)


def test_read_image_grayscale_and_errors(tmp_path):
    from PIL import Image
    gray = str(tmp_path / 'gray.png')
    Image.fromarray(np.full((6, 9), 77, np.uint8)).save(gray)
    decoded = read_image(gray)
    assert decoded.shape == (6, 9, 3) and (decoded == 77).all()
    with pytest.raises(AVDataError, match='file not found'):
        read_image(str(tmp_path / 'none.jpg'))
    bad = tmp_path / 'bad.jpg'
    bad.write_bytes(b'not a jpeg')
    with pytest.raises(AVDataError, match='cannot decode image.*bad.jpg'):
        read_image(str(bad))


def test_frames_in_memory_decode_as_the_files(tmp_path):
    """decode_frame_jpegs (shard samples): the bytes of the files give the
    files' pixels, with the same fall-back and errors."""
    from PIL import Image

    from cavmae_mm.datasets.av_io import decode_frame_jpegs, read_image_bytes
    jpegs = {}
    for position in (0, 2):
        path = tmp_path / f'f{position}.jpg'
        Image.fromarray(np.full((8, 6, 3), 40 * position,
                                np.uint8)).save(path)
        jpegs[position] = path.read_bytes()
        assert np.array_equal(read_image_bytes(jpegs[position], 'x'),
                              read_image(str(path)))
    frames, used = decode_frame_jpegs(jpegs, 'clip', [1, 2, 7])
    assert used == [0, 2, 2]
    assert np.array_equal(frames[1], read_image(str(tmp_path / 'f2.jpg')))
    with pytest.raises(AVDataError, match='missing frame'):
        decode_frame_jpegs({3: jpegs[2]}, 'clip', [1])
    with pytest.raises(AVDataError, match='cannot decode image.*clip'):
        decode_frame_jpegs({0: b'not a jpeg'}, 'clip', [0])
