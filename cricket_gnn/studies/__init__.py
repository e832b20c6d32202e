"""The training guide's four-stage programme as data + pure rules (no service imports).

`spec` and `experiments` are plain Python (cheap to import: the API validates requests
with them); `machine` (numpy, scipy, the evaluation package) advances a study from its
finished runs; `report` renders JSON, Markdown and CSV; `local` runs a study in-process.
"""

from cricket_gnn.studies.spec import STAGES, TEMPLATES, StudySpec

__all__ = ["STAGES", "TEMPLATES", "StudySpec"]
