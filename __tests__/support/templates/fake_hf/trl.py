"""Fake trl: SFTConfig keeps its arguments; SFTTrainer imitates the Trainer loop (see README.md)."""

import json
import os
import time


class SFTConfig:
    def __init__(self, **kwargs):
        self.__dict__.update(kwargs)


class _State:
    def __init__(self, step, max_steps=0):
        self.global_step = step
        self.max_steps = max_steps
        self.is_world_process_zero = True


class _Control:
    def __init__(self):
        self.should_save = False
        self.should_training_stop = False


class SFTTrainer:
    def __init__(self, model, train_dataset, args, peft_config=None, callbacks=()):
        self.model = model
        self.train_dataset = train_dataset
        self.args = args
        self.callbacks = list(callbacks)

    def train(self, resume_from_checkpoint=None):
        state = os.environ["STUB_STATE"]
        with open(os.path.join(state, "train_call.json"), "w") as record:
            json.dump(
                {
                    "resume_from_checkpoint": resume_from_checkpoint,
                    "output_dir": self.args.output_dir,
                    "run_name": self.args.run_name,
                    "data_files": self.train_dataset["data_files"],
                },
                record,
            )
        step = int(resume_from_checkpoint.rstrip("/").rsplit("-", 1)[1]) if resume_from_checkpoint else 0
        last = step + int(os.environ.get("FAKE_STEPS", "1000000"))
        open(os.path.join(state, "ready"), "w").close()
        while step < last:
            time.sleep(0.01)
            step += 1
            control = _Control()
            for callback in self.callbacks:
                control = callback.on_step_end(self.args, None, control) or control
            if step % getattr(self.args, "logging_steps", 10) == 0:  # the Trainer's log: loss and friends, numbers only
                logs = {"loss": round(3.0 - step / last, 4), "grad_norm": 1.25, "learning_rate": self.args.learning_rate, "epoch": round(step / last, 4)}
                for callback in self.callbacks:
                    control = callback.on_log(self.args, _State(step, last), control, logs=logs) or control
            if control.should_save:
                os.makedirs(os.path.join(self.args.output_dir, f"checkpoint-{step}"))
                with open(os.path.join(self.args.output_dir, f"checkpoint-{step}", "optimizer.pt"), "w") as f:
                    f.write("state")
                saved = _State(step)
                for callback in self.callbacks:
                    callback.on_save(self.args, saved, control)
            if control.should_training_stop:
                return

    def save_model(self, output_dir):
        open(os.path.join(output_dir, "adapter_model.safetensors"), "w").close()
