"""Fake torch: no CUDA."""


class cuda:  # noqa: N801 - mirrors torch.cuda
    @staticmethod
    def is_available():
        return False

    @staticmethod
    def is_bf16_supported():
        return False
