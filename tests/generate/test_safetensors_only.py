"""Models, LoRA adapters and ControlNets load from safetensors only: a pickle checkpoint (which can
run code when opened) is a clear error, and nothing is unpickled."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.errors import ModelUnavailable
from workbench.generate.weights import require_safetensors, safetensors_name

pytest.importorskip("torch")


def _pickle_adapter(tiny_model_dir: Path, out: Path) -> Path:
    """A real LoRA adapter for the tiny model, saved the old way (``adapter_model.bin``, a pickle)."""
    pytest.importorskip("peft")
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir))
    lora = get_peft_model(base, LoraConfig(r=4, target_modules=["q_proj"]))
    lora.save_pretrained(str(out), safe_serialization=False)
    assert (out / "adapter_model.bin").is_file() and not (out / "adapter_model.safetensors").exists()
    return out


def test_a_pickle_only_adapter_is_refused_by_the_text_backend(tiny_model_dir: Path, tmp_path: Path) -> None:
    """Before: peft fell back to adapter_model.bin and unpickled it."""
    from workbench.generate.local import get_local_generator

    adapter = _pickle_adapter(tiny_model_dir, tmp_path / "adapter")
    with pytest.raises(ModelUnavailable, match="only pickle weights .*adapter_model.bin.*safetensors only"):
        get_local_generator(f"{tiny_model_dir}+{adapter}")


def test_a_pickle_only_adapter_is_refused_for_training(tiny_model_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("trl")
    from transformers import AutoModelForCausalLM

    from workbench.training.train import load_adapter

    adapter = _pickle_adapter(tiny_model_dir, tmp_path / "adapter")
    base = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir))
    with pytest.raises(ModelUnavailable, match="only pickle weights"):
        load_adapter(base, adapter)


def test_a_pickle_only_text_model_is_refused(tiny_model_dir: Path, tmp_path: Path) -> None:
    import shutil

    import torch
    from safetensors.torch import load_file

    from workbench.generate.local import get_local_generator

    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    for f in model.glob("*.safetensors"):
        torch.save(load_file(str(f)), model / "pytorch_model.bin")
        f.unlink()
    with pytest.raises(ModelUnavailable, match="only pickle weights .*pytorch_model.bin"):
        get_local_generator(str(model))


def test_the_check_itself(tmp_path: Path) -> None:
    assert require_safetensors("some/hub-id", "model") == Path(
        "some/hub-id"
    )  # not a folder: the loader decides
    (tmp_path / "w.safetensors").write_bytes(b"x")
    assert require_safetensors(tmp_path, "model") == tmp_path
    with pytest.raises(ModelUnavailable, match="no safetensors weights .*adapter_model.safetensors"):
        require_safetensors(tmp_path, "LoRA adapter", "adapter_model.safetensors")
    assert safetensors_name("ip-adapter_sd15.safetensors", "IP-Adapter") == "ip-adapter_sd15.safetensors"
    with pytest.raises(ModelUnavailable, match="not a .safetensors file"):
        safetensors_name("ip-adapter_sd15.bin", "IP-Adapter")
