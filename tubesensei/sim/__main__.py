"""``python -m tubesensei.sim serve ...``"""

from .cli import sim

if __name__ == "__main__":  # pragma: no cover
    sim(prog_name="python -m tubesensei.sim")
