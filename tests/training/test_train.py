"""LoRA training (TRL + peft) on a tiny random-weight Llama, loading back, evaluation and bad input."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("trl")
pytest.importorskip("peft")

from workbench.cli import main  # noqa: E402
from workbench.errors import ModelUnavailable  # noqa: E402
from workbench.training.evaluate import evaluate, plot  # noqa: E402
from workbench.training.train import TRAINING_FILE, TrainingError, train  # noqa: E402

from .conftest import PROMPT, model_take  # noqa: E402

PAIRS = [
    {"prompt": PROMPT, "chosen": "MARA\nThe lamp is lit.", "rejected": "lamp lamp lamp"},
    {"prompt": PROMPT, "chosen": "JONAH\nWe sail at dawn.", "rejected": "dawn dawn"},
]


def _lora(adapter):
    from safetensors.torch import load_file

    return load_file(str(adapter / "adapter_model.safetensors"))


def _project_with_feedback(project):
    for i in range(2):
        scene = project.add_scene(f"Scene {i}")
        a = model_take(scene, PAIRS[i]["chosen"])
        model_take(scene, PAIRS[i]["rejected"])
        a.choose()
    return project


def test_sft_via_cli_then_dpo_change_the_adapter_and_load_back(project, tiny_model_dir, tmp_path, capsys):
    _project_with_feedback(project)
    path = project.file
    project.close()
    out = tmp_path / "adapter"
    code = main(
        [
            "train",
            str(path),
            "--method",
            "sft",
            "--out",
            str(out),
            "--steps",
            "2",
            "--model",
            str(tiny_model_dir),
            "--lr",
            "0.01",
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert f"{tiny_model_dir}+{out}" in capsys.readouterr().out
    sft = _lora(out)
    assert any("lora_B" in k and v.abs().sum() > 0 for k, v in sft.items())  # B starts at zero
    record = json.loads((out / TRAINING_FILE).read_text())
    assert record["method"] == "sft" and record["steps"] == 2 and record["rows"] == 2

    result = train(PAIRS, out, "dpo", steps=2, lr=0.01, model=f"{tiny_model_dir}+{out}", progress=False)
    assert result.steps == 2 and len(result.losses) == 2 and result.device == "cpu"
    dpo = _lora(out)
    assert set(dpo) == set(sft) and any((dpo[k] - sft[k]).abs().sum() > 0 for k in sft)

    from workbench.generate.base import TextRequest
    from workbench.generate.local import get_local_generator

    gen = get_local_generator(f"{tiny_model_dir}+{out}")
    from peft import PeftModel

    assert isinstance(gen.model, PeftModel) and gen.fingerprint["adapter"] == str(out)
    assert gen.generate(TextRequest(prefix="sys", suffix="go", n=1, seed=1, max_new_tokens=3))[
        0
    ].completion_tokens

    table = evaluate(PAIRS, adapter=out, model=str(tiny_model_dir))
    assert [r["pairs"] for r in table] == [2, 2] and table[1]["model"].endswith(str(out))
    assert (
        all(0.0 <= r["accuracy"] <= 1.0 for r in table) and table[0]["mean_margin"] != table[1]["mean_margin"]
    )
    ax = plot(table)
    assert len(ax.patches) == 2


def test_interrupted_run_keeps_the_old_adapter(tiny_model_dir, tmp_path):
    from transformers import TrainerCallback

    out = tmp_path / "adapter"
    out.mkdir()
    (out / "adapter_config.json").write_text("{}")
    (out / "adapter_model.safetensors").write_bytes(b"the good one")

    class Interrupt(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(PAIRS, out, "dpo", steps=3, model=str(tiny_model_dir), progress=False, callbacks=[Interrupt()])
    assert (out / "adapter_model.safetensors").read_bytes() == b"the good one"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adapter"]  # no temporary folder left


def test_damaged_adapter_is_model_unavailable(tiny_model_dir, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "adapter_config.json").write_text('{"peft_type": "LORA", "r": 4, "target_modules": ["q_proj"]}')
    (bad / "adapter_model.safetensors").write_bytes(b"\x00garbage, not safetensors")
    from workbench.generate.local import get_local_generator

    with pytest.raises(ModelUnavailable, match="damaged"):
        get_local_generator(f"{tiny_model_dir}+{bad}")
    with pytest.raises(ModelUnavailable, match="damaged"):
        evaluate(PAIRS, adapter=bad, model=str(tiny_model_dir))
    with pytest.raises(ModelUnavailable, match="adapter_config.json"):
        evaluate(PAIRS, adapter=tmp_path / "missing", model=str(tiny_model_dir))


def test_bad_input(project, tiny_model_dir, tmp_path):
    scene = project.add_scene("Quiet")
    model_take(scene, "Nobody judged me.")
    with pytest.raises(Exception, match="no human feedback yet"):
        train(project, tmp_path / "a", "sft", steps=1, model=str(tiny_model_dir))
    with pytest.raises(TrainingError, match="nothing to train on"):
        train([], tmp_path / "a", "dpo", model=str(tiny_model_dir))
    with pytest.raises(Exception, match="method"):
        train(PAIRS, tmp_path / "a", "ppo")
    with pytest.raises(Exception, match="steps"):
        train(PAIRS, tmp_path / "a", "dpo", steps=0)
    with pytest.raises(Exception, match="local model"):
        train(PAIRS, tmp_path / "a", "dpo", model="openai:m@http://127.0.0.1:9/v1")
    assert not (tmp_path / "a").exists()


@pytest.mark.slow
def test_two_steps_on_the_default_model(tmp_path):
    result = train(PAIRS, tmp_path / "adapter", "dpo", steps=2, progress=False)
    assert result.steps == 2 and result.base == "default"
    table = evaluate(PAIRS, adapter=result.adapter)
    assert len(table) == 2 and table[0]["model"] == "default"
