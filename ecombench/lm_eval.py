"""``python -m ecombench.lm_eval ...``: lm-eval's own command line, with ecombench's model registered.

lm-eval finds models only in its registry and has no plugin entry point for them, so this module
imports ``ecombench.backends.hf.lm`` (which registers ``ecombench-hf``) and then hands over to lm-eval's CLI.
Every lm-eval flag works as documented there::

    python -m ecombench.lm_eval --model ecombench-hf --model_args pretrained=./my-model \\
        --include_path tasks --tasks ecombench_starter --device cpu --batch_size 1
"""

from __future__ import annotations


def main() -> None:
    from lm_eval.__main__ import cli_evaluate

    import ecombench.backends.hf.lm  # noqa: F401 - registers the "ecombench-hf" model with lm-eval

    cli_evaluate()


if __name__ == "__main__":
    main()
