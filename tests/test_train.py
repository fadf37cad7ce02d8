"""Fine-tuning (`wizardcoder train`) on tiny random Llama (Code Llama) and GPTBigCode (StarCoder)
models with tokenizers trained here: label masks, pad handling, padding-free equivalence, loss
going down, LoRA + merge, resume after SIGKILL, bad data and recipes, shipped configs."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

from tiny_models import make_tiny_model
from wizardcoder.engines.render import encode
from wizardcoder.errors import WizardCoderError
from wizardcoder.prompting.template import format_prompt
from wizardcoder.records import Record
from wizardcoder.training.config import TrainConfig, build_config, load_recipe
from wizardcoder.training.data import IGNORE, DataStats, RowEncoder, encode_rows
from wizardcoder.training.model import resize_with_mean, set_pad_token
from wizardcoder.training.run import run_train

WC = [sys.executable, "-m", "wizardcoder.cli"]
FAMILIES = ["llama", "gpt_bigcode"]


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny")
    return {family: make_tiny_model(family, root / family) for family in FAMILIES}


def _rows(n: int = 48) -> list[dict[str, str]]:
    """Rows whose responses follow a learnable pattern, with and without input."""
    rows = []
    for i in range(n):
        a, b = i % 7, i % 5
        rows.append({"instruction": f"Write a function that adds {a} and {b}.", "input": "" if i % 3 else f"x = {i}",
                     "output": f"def add(a, b):\n    return a + b  # {a} + {b}\n"})
    return rows


def _data(path: Path, rows: list[dict[str, str]] | None = None) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in (rows or _rows())))
    return path


def _cfg(model: Path, data: Path, out: Path, **kw: object) -> TrainConfig:
    base = dict(model=str(model), data=str(data), output_dir=str(out), batch_size=8, global_batch_size=8,
                learning_rate=3e-3, warmup_steps=0, max_steps=12, max_length=256, logging_steps=1, save_steps=100,
                report_to=["csv"])
    base.update(kw)
    return build_config(None, base)


# -- label masks -----------------------------------------------------------------------------

@pytest.mark.parametrize("family", FAMILIES)
def test_labels_mask_the_prompt_and_train_response_and_eos(tiny: dict[str, Path], family: str) -> None:
    tok = AutoTokenizer.from_pretrained(tiny[family])
    for row in (Record("Add two numbers.", "", "def add(a, b):\n    return a + b", 1),
                Record("Reverse it.", "s = 'abc'", "print(s[::-1])", 2)):
        enc = RowEncoder(tok, 512).encode(row)
        prompt_ids = encode(tok, format_prompt(row.instruction, row.input))  # exactly what inference sends
        n = len(prompt_ids)
        assert enc.input_ids[:n] == prompt_ids
        assert enc.labels[:n] == [IGNORE] * n
        assert enc.labels[n:] == enc.input_ids[n:]
        assert enc.input_ids[-1] == tok.eos_token_id and enc.labels[-1] == tok.eos_token_id
        assert tok.decode(enc.input_ids[n:-1]) == row.output
        assert (family == "llama") == (enc.input_ids[0] == tok.bos_token_id)  # Code Llama adds BOS, StarCoder not
        if row.input:
            assert "### Input:\ns = 'abc'" in tok.decode(prompt_ids)


def test_truncation_is_right_side_and_counted(tiny: dict[str, Path]) -> None:
    tok = AutoTokenizer.from_pretrained(tiny["llama"])
    long = Record("Print numbers.", "", "print(1)\n" * 200, 1)
    short = Record("Add.", "", "a + b", 2)
    huge_prompt = Record("word " * 400, "", "ok", 3)
    stats = DataStats()
    out = encode_rows(tok, [long, short, huge_prompt], 64, stats)
    assert (stats.rows, stats.truncated, stats.dropped) == (3, 1, 1)
    assert len(out) == 2 and len(out[0]["input_ids"]) == 64
    full = RowEncoder(tok, 10_000).encode(long)
    assert out[0]["input_ids"] == full.input_ids[:64]  # the start is kept, the end cut
    assert out[0]["labels"][-1] != tok.eos_token_id  # the cut row never reaches its EOS


def test_eos_stays_trained_when_pad_is_eos(tiny: dict[str, Path]) -> None:
    """The classic bug: labels from input_ids with pad == EOS mask the EOS; ours come from the prompt mask."""
    tok = AutoTokenizer.from_pretrained(tiny["gpt_bigcode"])
    model = AutoModelForCausalLM.from_pretrained(tiny["gpt_bigcode"])
    assert set_pad_token(tok, model, "eos") == "reused '<|endoftext|>'"
    rows = [Record("Add.", "", "a + b", 1), Record("Write a longer function please.", "", "def f():\n    return 1", 2)]
    enc = encode_rows(tok, rows, 256, DataStats())
    batch = DataCollatorForLanguageModeling(pad_token_id=tok.pad_token_id)(enc)
    for i, row in enumerate(enc):
        n = len(row["input_ids"])
        assert batch["labels"][i, n - 1].item() == tok.eos_token_id
        assert (batch["labels"][i, n:] == IGNORE).all() and (batch["attention_mask"][i, n:] == 0).all()


# -- pad token ------------------------------------------------------------------------------

def test_added_pad_row_is_the_mean_and_old_predictions_do_not_move(tiny: dict[str, Path]) -> None:
    tok = AutoTokenizer.from_pretrained(tiny["llama"])
    model = AutoModelForCausalLM.from_pretrained(tiny["llama"]).eval()
    ids = torch.tensor([encode(tok, "def add(a, b):")])
    before_in = model.get_input_embeddings().weight.detach().clone()
    before_out = model.get_output_embeddings().weight.detach().clone()
    with torch.no_grad():
        logits_before = model(ids).logits
    note = set_pad_token(tok, model, "add")
    assert note.startswith("added '<pad>'") and tok.pad_token == "<pad>" and tok.pad_token_id == len(before_in)
    new_in, new_out = model.get_input_embeddings().weight, model.get_output_embeddings().weight
    assert new_in.shape[0] == len(tok) == len(before_in) + 1
    torch.testing.assert_close(new_in[-1], before_in.mean(0))
    torch.testing.assert_close(new_out[-1], before_out.mean(0))
    torch.testing.assert_close(new_in[:-1], before_in)
    with torch.no_grad():
        logits_after = model(ids).logits
    torch.testing.assert_close(logits_after[..., :-1], logits_before)
    # an existing pad token is kept; a token that is not in the vocabulary is a one-line error
    assert set_pad_token(tok, model, "add") == "kept '<pad>'"
    with pytest.raises(WizardCoderError, match="no such token"):
        set_pad_token(tok, model, "<nope>")


def test_resize_with_mean_on_tied_embeddings(tiny: dict[str, Path]) -> None:
    model = AutoModelForCausalLM.from_pretrained(tiny["gpt_bigcode"])  # GPTBigCode ties lm_head to wte
    old = model.get_input_embeddings().weight.detach().clone()
    resize_with_mean(model, old.shape[0] + 3)
    weight = model.get_input_embeddings().weight
    assert model.get_output_embeddings().weight.data_ptr() == weight.data_ptr()
    for row in weight[-3:]:
        torch.testing.assert_close(row, old.mean(0))
    assert model.config.vocab_size == old.shape[0] + 3


# -- padding-free = padded -------------------------------------------------------------------

@pytest.mark.parametrize("family", FAMILIES)
def test_padding_free_batch_has_the_padded_batch_loss(tiny: dict[str, Path], family: str) -> None:
    """One flattened sequence with per-row position ids must not attend across rows: same loss."""
    tok = AutoTokenizer.from_pretrained(tiny[family])
    model = AutoModelForCausalLM.from_pretrained(tiny[family]).eval()
    model.config.use_cache = False
    set_pad_token(tok, model, "add")
    rows = [Record(r["instruction"], r["input"], r["output"], i) for i, r in enumerate(_rows(5))]
    enc = encode_rows(tok, rows, 256, DataStats())
    padded = DataCollatorForLanguageModeling(pad_token_id=tok.pad_token_id)(enc)
    flat = DataCollatorForLanguageModeling(pad_token_id=tok.pad_token_id, padding_free=True)(enc)
    assert flat["input_ids"].shape[0] == 1 and flat["input_ids"].shape[1] == sum(len(e["input_ids"]) for e in enc)
    assert padded["input_ids"].numel() > flat["input_ids"].numel()  # padding was spent on the padded batch
    with torch.no_grad():
        loss_padded = model(input_ids=padded["input_ids"], attention_mask=padded["attention_mask"],
                            labels=padded["labels"]).loss
        loss_flat = model(input_ids=flat["input_ids"], position_ids=flat["position_ids"], labels=flat["labels"]).loss
        # and the flat loss is not what full attention across rows would give
        loss_leaky = model(input_ids=flat["input_ids"], labels=flat["labels"]).loss
    torch.testing.assert_close(loss_flat, loss_padded, atol=1e-5, rtol=1e-5)
    assert abs(loss_leaky.item() - loss_padded.item()) > 1e-3
    # ours: causal SDPA per row from the collator's boundaries (what `wizardcoder train` uses off flash-attention)
    from wizardcoder.training.attention import register

    model.set_attn_implementation(register())
    with torch.no_grad():
        loss_rows = model(**flat).loss
        logits_rows = model(**flat).logits
        model.set_attn_implementation("sdpa")
        logits_mask = model(input_ids=flat["input_ids"], position_ids=flat["position_ids"]).logits
    torch.testing.assert_close(loss_rows, loss_padded, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(logits_rows, logits_mask, atol=1e-5, rtol=1e-5)


# -- whole runs ------------------------------------------------------------------------------

def _log(out: Path) -> list[dict[str, str]]:
    with (out / "logs" / "train_log.csv").open() as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("packing", ["padding-free", "none"])
def test_training_lowers_the_loss_and_writes_a_loadable_model(tiny: dict[str, Path], tmp_path: Path, family: str,
                                                            packing: str) -> None:
    out = tmp_path / "out"
    data = _data(tmp_path / "rows.jsonl")
    result = run_train(_cfg(tiny[family], data, out, packing=packing, eval_split=0.1, save_steps=15, max_steps=30,
                            learning_rate=1e-2))
    log = [r for r in _log(out) if r["loss"]]
    assert result.steps == 30 and len(log) == 30
    first, last = float(log[0]["loss"]), float(log[-1]["loss"])
    assert last < 0.6 * first, (first, last)
    assert result.eval_loss is not None and result.eval_loss < first
    record = json.loads((out / "wizardcoder_train.json").read_text())
    assert record["status"] == "finished" and record["data"]["rows"] == 43 and record["eval_data"]["rows"] == 5
    assert len(record["data_sha256"]) == 64 and record["metrics"]["steps"] == 30
    assert not (out / "checkpoints").exists()  # removed after a finished run
    # the output loads through the engine and is prompted with the card's template (its chat template)
    from wizardcoder.engines import Request, SamplingParams
    from wizardcoder.engines.hf import TransformersEngine
    from wizardcoder.engines.resolve import resolve_model

    tok = AutoTokenizer.from_pretrained(out)
    assert tok.pad_token == "<pad>"
    chat = tok.apply_chat_template([{"role": "user", "content": "Add 1 and 2."}], tokenize=False, add_generation_prompt=True)
    assert chat.endswith(format_prompt("Add 1 and 2.")) and chat.startswith(tok.bos_token if family == "llama" else "Below")
    engine = TransformersEngine.load(resolve_model(str(out)))
    try:
        [(_, completion)] = list(engine.generate([Request(prompt=format_prompt("Write a function that adds 3 and 4."))],
                                                 SamplingParams(max_tokens=24, temperature=0.0)))
    finally:
        engine.close()
    assert "a + b" in completion.text  # it learnt the answers' pattern (the random model: ~1 in 400^3)


@pytest.mark.slow
def test_lora_adapter_merge_and_merge_command(tiny: dict[str, Path], tmp_path: Path) -> None:
    from peft import PeftModel

    out = tmp_path / "lora"
    data = _data(tmp_path / "rows.jsonl")
    result = run_train(_cfg(tiny["llama"], data, out, lora=True, lora_r=8, learning_rate=1e-2))
    assert result.adapter_dir == out / "adapter" and (out / "adapter" / "adapter_config.json").is_file()
    assert (out / "model.safetensors").is_file() and not (out / "adapter_config.json").exists()
    log = [float(r["loss"]) for r in _log(out) if r["loss"]]
    assert log[-1] < log[0]
    tok = AutoTokenizer.from_pretrained(out)
    ids = torch.tensor([encode(tok, format_prompt("Write a function that adds 1 and 2."))])
    merged = AutoModelForCausalLM.from_pretrained(out).eval()
    base = AutoModelForCausalLM.from_pretrained(tiny["llama"])
    set_pad_token(AutoTokenizer.from_pretrained(tiny["llama"]), base, "add")
    adapted = PeftModel.from_pretrained(base, out / "adapter").eval()
    untrained = AutoModelForCausalLM.from_pretrained(tiny["llama"]).eval()
    set_pad_token(AutoTokenizer.from_pretrained(tiny["llama"]), untrained, "add")
    with torch.no_grad():
        torch.testing.assert_close(merged(ids).logits, adapted(ids).logits, atol=1e-4, rtol=1e-4)
        assert (merged(ids).logits - untrained(ids).logits).abs().max() > 1e-2  # the adapter did change the model
    again = tmp_path / "merged-again"
    proc = subprocess.run([*WC, "merge", str(out / "adapter"), "--output", str(again)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    with torch.no_grad():
        torch.testing.assert_close(AutoModelForCausalLM.from_pretrained(again).eval()(ids).logits, merged(ids).logits)


def _cli_train(tiny_model: Path, data: Path, out: Path, *extra: str) -> list[str]:
    return [*WC, "train", "--model", str(tiny_model), "--data", str(data), "--output", str(out), "--batch-size", "4",
            "--global-batch-size", "8", "--lr", "3e-3", "--warmup-steps", "2", "--max-length", "256",
            "--logging-steps", "1", "--report-to", "csv", *extra]


@pytest.mark.slow
def test_resume_after_sigkill_equals_an_uninterrupted_run(tiny: dict[str, Path], tmp_path: Path) -> None:
    data = _data(tmp_path / "rows.jsonl")
    common = ("--max-steps", "30", "--save-steps", "3", "--keep-checkpoints")
    clean = tmp_path / "clean"
    assert subprocess.run(_cli_train(tiny["llama"], data, clean, *common), capture_output=True).returncode == 0
    out = tmp_path / "killed"
    proc = subprocess.Popen(_cli_train(tiny["llama"], data, out, *common), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while not (out / "checkpoints" / "checkpoint-9").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "model.safetensors").exists(), "the run finished before it could be killed"
    status = json.loads((out / "wizardcoder_train.json").read_text())["status"]
    assert status == "running"
    # without --resume the run is not clobbered
    again = subprocess.run(_cli_train(tiny["llama"], data, out, *common), capture_output=True, text=True)
    assert again.returncode == 2 and "--resume" in again.stderr and len(again.stderr.strip().splitlines()) == 1
    # other settings are refused
    other = subprocess.run(_cli_train(tiny["llama"], data, out, *common, "--resume", "--lr", "1e-3"),
                           capture_output=True, text=True)
    assert other.returncode == 2 and "different settings" in other.stderr and "learning_rate" in other.stderr
    resumed = subprocess.run(_cli_train(tiny["llama"], data, out, *common, "--resume"), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming from" in resumed.stderr
    record = json.loads((out / "wizardcoder_train.json").read_text())
    assert record["status"] == "finished" and record["resumed"] == 1 and record["metrics"]["steps"] == 30
    steps = [int(r["step"]) for r in _log(out) if r["loss"]]
    assert steps == list(range(1, 31))  # every step logged once: no duplicates from the killed run
    a = AutoModelForCausalLM.from_pretrained(clean).state_dict()
    b = AutoModelForCausalLM.from_pretrained(out).state_dict()
    for name in a:
        torch.testing.assert_close(b[name], a[name], atol=1e-5, rtol=1e-4, msg=name)
    finished = subprocess.run(_cli_train(tiny["llama"], data, out, *common, "--resume"), capture_output=True, text=True)
    assert finished.returncode == 2 and "already finished" in finished.stderr


# -- bad input --------------------------------------------------------------------------------

@pytest.mark.parametrize(("row", "field", "message"), [
    ({"instruction": "Add.", "input": ""}, "output", "missing"),
    ({"instruction": "Add.", "output": "   "}, "output", "empty response"),
    ({"instruction": 3, "output": "x"}, "instruction", "expected a string, got int"),
    ({"instruction": "Add.", "input": ["a"], "output": "x"}, "input", "expected a string, got list"),
])
def test_bad_rows_are_one_line_errors_with_file_line_field(tiny: dict[str, Path], tmp_path: Path, row: dict,
                                                          field: str, message: str) -> None:
    rows = _rows(4)
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows[:2]) + "\n" + json.dumps(row) + "\n")
    out = tmp_path / "out"
    proc = subprocess.run(_cli_train(tiny["llama"], data, out, "--max-steps", "1"), capture_output=True, text=True)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{data}:4: field '{field}': {message}" in lines[0], proc.stderr
    assert not out.exists()  # nothing was written for a run that could not start


def test_lenient_skips_bad_rows_and_counts_them(tiny: dict[str, Path], tmp_path: Path) -> None:
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in _rows(8)) + '{"instruction": "x", "output": ""}\nnot json\n')
    result = run_train(_cfg(tiny["llama"], data, tmp_path / "out", lenient=True, max_steps=1))
    assert result.stats.rows == 8 and len(result.stats.skipped) == 2


def test_alpaca_json_array_errors_name_the_line(tiny: dict[str, Path], tmp_path: Path) -> None:
    data = tmp_path / "rows.json"
    data.write_text('[\n  {"instruction": "a", "output": "b"},\n  {"instruction": "c",\n   "output": 5}\n]\n')
    with pytest.raises(WizardCoderError, match=r"rows\.json:3: field 'output': expected a string, got int"):
        run_train(_cfg(tiny["llama"], data, tmp_path / "out"))


def test_recipe_errors_and_precedence(tmp_path: Path) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text("learning_rate: 1.0e-4\nepochs: 2\nbatch_size: 4\n")
    cfg = build_config(recipe, {"batch_size": 2, "epochs": None})
    assert (cfg.learning_rate, cfg.epochs, cfg.batch_size, cfg.warmup_steps) == (1e-4, 2.0, 2, 30)
    recipe.write_text("learning_rat: 1.0e-4\n")
    with pytest.raises(WizardCoderError, match=r"r\.yaml: unknown setting 'learning_rat'"):
        build_config(recipe, {})
    recipe.write_text("batch_size: many\n")
    with pytest.raises(WizardCoderError, match=r"setting 'batch_size': expected a number"):
        build_config(recipe, {})
    recipe.write_text("lora: [1\n")
    with pytest.raises(WizardCoderError, match=r"r\.yaml:\d+: invalid YAML"):
        build_config(recipe, {})
    with pytest.raises(WizardCoderError, match="packing .* must be one of"):
        build_config(None, {"packing": "tight"})
    recipe.write_text("max_steps: -1\n")
    with pytest.raises(WizardCoderError, match=r"r\.yaml: max_steps \(--max-steps\) must be at least 1, got -1"):
        build_config(recipe, {})
    assert build_config(recipe, {"max_steps": 3}).max_steps == 3  # the flag wins over the file


def test_shipped_recipe_is_the_code_defaults_and_accelerate_configs_parse() -> None:
    from accelerate.commands.config.config_args import load_config_from_file

    from wizardcoder.training.configs import CONFIGS, read_config

    defaults = TrainConfig()
    path = Path(__file__).parents[1] / "src/wizardcoder/training/configs/recipe.yaml"
    recipe = load_recipe(path)
    assert len(recipe) >= 25
    for key, value in recipe.items():
        assert getattr(defaults, key) == value, key
    assert (defaults.epochs, defaults.learning_rate, defaults.warmup_steps, defaults.global_batch_size,
            defaults.max_length, defaults.weight_decay, defaults.lr_scheduler) == (3, 2e-5, 30, 512, 2048, 0.0, "cosine")
    assert defaults.grad_accum(8) == 4 and defaults.grad_accum(1) == 32  # 16 x 4 x 8 GPUs = 512, as in the paper
    kinds = {}
    for name in CONFIGS:
        if name != "recipe":
            file = Path(__file__).parents[1] / "src/wizardcoder/training/configs" / f"{name}.yaml"
            kinds[name] = str(load_config_from_file(str(file)).distributed_type)
            assert "accelerate launch" in read_config(name)
    assert kinds == {"zero2": "DistributedType.DEEPSPEED", "zero3-offload": "DistributedType.DEEPSPEED",
                     "fsdp": "DistributedType.FSDP"}
    proc = subprocess.run([*WC, "train-config", "zero3-offload"], capture_output=True, text=True)
    assert proc.returncode == 0 and "offload_param_device: cpu" in proc.stdout and "zero_stage: 3" in proc.stdout


@pytest.mark.slow
def test_ctrl_c_exits_130_and_resume_finishes(tiny: dict[str, Path], tmp_path: Path) -> None:
    data = _data(tmp_path / "rows.jsonl")
    out = tmp_path / "out"
    args = ("--max-steps", "60", "--save-steps", "4")
    proc = subprocess.Popen(_cli_train(tiny["llama"], data, out, *args), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not (out / "checkpoints" / "checkpoint-4").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    match = re.search(r"interrupted at step (\d+) \(checkpoint-\1 saved\): rerun with --resume", err)
    assert match, err  # the first Ctrl-C finishes the step and saves it: no work lost
    step = int(match.group(1))
    assert step >= 4 and (out / "checkpoints" / f"checkpoint-{step}" / "trainer_state.json").is_file()
    assert json.loads((out / "wizardcoder_train.json").read_text())["status"] == "running"
    resumed = subprocess.run(_cli_train(tiny["llama"], data, out, *args, "--resume"), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"resuming from {out / 'checkpoints' / f'checkpoint-{step}'}" in resumed.stderr
    assert json.loads((out / "wizardcoder_train.json").read_text())["metrics"]["steps"] == 60


@pytest.mark.slow
def test_two_processes_keep_the_global_batch_and_match_one_process(tiny: dict[str, Path], tmp_path: Path) -> None:
    """torchrun with 2 CPU processes (DDP, gloo): accumulation halves, the losses equal one process's."""
    data = _data(tmp_path / "rows.jsonl")
    args = ("--batch-size", "4", "--global-batch-size", "16", "--max-steps", "4")
    one, two = tmp_path / "one", tmp_path / "two"
    assert subprocess.run(_cli_train(tiny["llama"], data, one, *args), capture_output=True).returncode == 0
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29611"]
    proc = subprocess.run([*torchrun, *_cli_train(tiny["llama"], data, two, *args)[1:]], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("trained 4 steps") == 1  # rank 0 reports, alone
    r1 = json.loads((one / "wizardcoder_train.json").read_text())
    r2 = json.loads((two / "wizardcoder_train.json").read_text())
    assert (r1["world_size"], r1["gradient_accumulation_steps"]) == (1, 4)
    assert (r2["world_size"], r2["gradient_accumulation_steps"], r2["effective_batch_size"]) == (2, 2, 16)
    l1 = [float(r["loss"]) for r in _log(one) if r["loss"]]
    l2 = [float(r["loss"]) for r in _log(two) if r["loss"]]
    assert l1 == pytest.approx(l2, rel=1e-4)


@pytest.mark.slow
def test_qlora_without_a_gpu_and_merge_of_a_non_adapter_are_one_line_errors(tiny: dict[str, Path], tmp_path: Path) -> None:
    data = _data(tmp_path / "rows.jsonl")
    if not torch.cuda.is_available():
        proc = subprocess.run(_cli_train(tiny["llama"], data, tmp_path / "q", "--qlora"), capture_output=True, text=True)
        assert proc.returncode == 2 and proc.stderr.strip() == "error: QLoRA needs a CUDA GPU (4-bit weights via " \
            "bitsandbytes); use --lora on CPU"
    proc = subprocess.run([*WC, "merge", str(tiny["llama"]), "-o", str(tmp_path / "m")], capture_output=True, text=True)
    assert proc.returncode == 2 and "not a LoRA adapter (no adapter_config.json)" in proc.stderr
    proc = subprocess.run(_cli_train(tiny["llama"], tmp_path / "missing.jsonl", tmp_path / "x"), capture_output=True,
                          text=True)
    assert proc.returncode == 2 and proc.stderr.strip().endswith("missing.jsonl: no such data file")


def test_evolve_output_dir_as_data_with_checkpointing_and_tensorboard(tiny: dict[str, Path], tmp_path: Path) -> None:
    """`--data` takes an evolve run dir (its data.jsonl, lineage fields and all); TensorBoard logs are written."""
    run = tmp_path / "evol-run"
    run.mkdir()
    rows = [dict(r, id=f"s{i:06d}", parent_id=None, round=0, method=None) for i, r in enumerate(_rows(16))]
    _data(run / "data.jsonl", rows)
    out = tmp_path / "out"
    result = run_train(_cfg(tiny["gpt_bigcode"], run, out, max_steps=3, gradient_checkpointing=True,
                            report_to=["csv", "tensorboard"]))
    assert result.stats.rows == 16 and result.steps == 3
    record = json.loads((out / "wizardcoder_train.json").read_text())
    assert record["config"]["gradient_checkpointing"] is True and record["data"]["rows"] == 16
    events = list((out / "logs" / "tensorboard").glob("events.out.tfevents.*"))
    assert events and events[0].stat().st_size > 0
    with pytest.raises(WizardCoderError, match="a directory without data.jsonl"):
        run_train(_cfg(tiny["gpt_bigcode"], tmp_path, tmp_path / "out2"))
