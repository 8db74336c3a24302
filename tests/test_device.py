import pytest
import torch

from semlib import device


def test_scale_defaults_to_ci(monkeypatch):
    monkeypatch.delenv("SEMLIB_SCALE", raising=False)
    assert device.scale() == "ci"
    assert device.by_scale(ci=1, full=2) == 1


@pytest.mark.parametrize("value, expected", [("full", "full"), (" FULL ", "full"), ("ci", "ci"), ("", "ci")])
def test_scale_from_environment(monkeypatch, value, expected):
    monkeypatch.setenv("SEMLIB_SCALE", value)
    assert device.scale() == expected


def test_bad_scale_raises(monkeypatch):
    monkeypatch.setenv("SEMLIB_SCALE", "huge")
    with pytest.raises(ValueError, match="SEMLIB_SCALE"):
        device.scale()


def test_get_device_returns_an_available_device(monkeypatch):
    monkeypatch.delenv("SEMLIB_DEVICE", raising=False)
    dev = device.get_device()
    assert isinstance(dev, torch.device)
    torch.zeros(1, device=dev)  # usable
    assert device.get_device("cpu").type == "cpu"
    assert "scale=" in device.describe()


def test_get_device_rejects_unknown_kind():
    with pytest.raises(ValueError, match="`prefer`"):
        device.get_device("tpu")
