"""A small LoRA fine-tuning script that honours the image's environment contract (see the Dockerfile.gpu header).

Supervised fine-tuning with TRL and PEFT on DATA_DIR/train.jsonl (one JSON object per line with a "text" field or a
"messages" list). Replace the model, data and hyper-parameters with your own; keep the contract parts:

- checkpoints go to CHECKPOINT_DIR/checkpoint-<step>/ (the Trainer's own layout), every `save_steps` and on SIGTERM,
  and each one gets a COMPLETE file once the Trainer has finished writing it: the runtime's checkpoint contract
  (runtime/README.md). Only a checkpoint with COMPLETE is ever named in LATEST.json and resumed from, so a save cut
  short (a full disk, a SIGKILL) never becomes the run's resume point;
- a run started with RESUME_FROM restores model, optimizer, scheduler and step from that checkpoint;
- the final adapter and tokenizer go to OUTPUT_DIR, and the script exits 0 only when training completed;
- SIGTERM (spot interruption, forwarded by entrypoint.sh) saves a checkpoint at the end of the current optimizer step
  and exits with 143. Keep a step (including gradient accumulation) well under ~30 s so the save finishes in time;
- each time the Trainer logs (every `logging_steps`), one JSON line with the step, the total and the logged numbers is
  appended to GTI_PROGRESS_FILE: the runtime's progress contract (runtime/README.md), which feeds the progress metrics,
  `gti status` and the stalled-run alarm. Without the variable (a run outside the runtime) nothing is written.
"""

import json
import os
import signal
import sys

import torch
from datasets import load_dataset
from peft import LoraConfig
from transformers import TrainerCallback
from trl import SFTConfig, SFTTrainer


class MarkCheckpointComplete(TrainerCallback):
    """The checkpoint contract: COMPLETE is written last, after the Trainer saved (and closed) every file of it."""

    def on_save(self, args, state, control, **kwargs):
        checkpoint = os.path.join(args.output_dir, f"checkpoint-{state.global_step}")
        if state.is_world_process_zero and os.path.isdir(checkpoint):
            for name in os.listdir(checkpoint):  # flush what the Trainer wrote before declaring it complete
                path = os.path.join(checkpoint, name)
                if os.path.isfile(path):
                    with open(path, "rb") as written:
                        os.fsync(written.fileno())
            with open(os.path.join(checkpoint, "COMPLETE"), "w") as marker:
                marker.write(f"{state.global_step}\n")
                marker.flush()
                os.fsync(marker.fileno())
        return control


class ReportProgress(TrainerCallback):
    """The progress contract: one JSON line per Trainer log, appended to GTI_PROGRESS_FILE (from the main process)."""

    FIELDS = ("loss", "learning_rate", "grad_norm", "epoch", "eval_loss")  # numbers the runtime publishes as metrics

    def __init__(self, path) -> None:
        self.path = path

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.path and state.is_world_process_zero:
            record = {"step": state.global_step, "total_steps": state.max_steps}
            record.update({k: v for k, v in (logs or {}).items() if k in self.FIELDS and isinstance(v, (int, float))})
            with open(self.path, "a") as progress:  # append mode: the runtime may rotate the file
                progress.write(json.dumps(record) + "\n")
        return control


class SaveAndStopOnSigterm(TrainerCallback):
    """Turns SIGTERM into "save a checkpoint now and stop" at the next step boundary."""

    def __init__(self) -> None:
        self.stop_requested = False
        signal.signal(signal.SIGTERM, self._request_stop)

    def _request_stop(self, signum, frame) -> None:
        print("SIGTERM received: saving a checkpoint and stopping", flush=True)
        self.stop_requested = True

    def on_step_end(self, args, state, control, **kwargs):
        if self.stop_requested:
            control.should_save = True
            control.should_training_stop = True
        return control


def main() -> int:
    data_dir = os.environ["DATA_DIR"]
    checkpoint_dir = os.environ["CHECKPOINT_DIR"]
    output_dir = os.environ["OUTPUT_DIR"]
    resume_from = os.environ.get("RESUME_FROM") or None  # empty on a fresh run
    bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()  # A10G, L4, A100: yes; T4, V100: no

    stopper = SaveAndStopOnSigterm()
    trainer = SFTTrainer(
        model=os.environ.get("MODEL_ID", "Qwen/Qwen2.5-0.5B"),
        train_dataset=load_dataset("json", data_files=os.path.join(data_dir, "train.jsonl"), split="train"),
        args=SFTConfig(
            output_dir=checkpoint_dir,
            run_name=os.environ["RUN_ID"],
            num_train_epochs=1,
            per_device_train_batch_size=4,
            gradient_accumulation_steps=4,
            learning_rate=2e-4,
            bf16=bf16,
            fp16=torch.cuda.is_available() and not bf16,
            logging_steps=10,
            save_steps=200,
            save_total_limit=3,
            report_to="none",
        ),
        peft_config=LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules="all-linear", task_type="CAUSAL_LM"),
        callbacks=[stopper, MarkCheckpointComplete(), ReportProgress(os.environ.get("GTI_PROGRESS_FILE"))],
    )
    trainer.train(resume_from_checkpoint=resume_from)
    if stopper.stop_requested:
        return 128 + signal.SIGTERM  # interrupted: a later run resumes from the newest checkpoint-<step>/
    trainer.save_model(output_dir)  # LoRA adapter and tokenizer
    return 0


if __name__ == "__main__":
    sys.exit(main())
