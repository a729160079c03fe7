"""The demo Sage 50 FR dossier: export files as Sage 50 FR writes them (see dossier.py).

python -m sandbox.sage_fr data/sage50-fr/exports --size small
"""

from sandbox.sage_fr.dossier import Dossier, build, generate, write

__all__ = ["Dossier", "build", "generate", "write"]
