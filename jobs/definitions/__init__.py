"""Job definitions (issue 12): multi-step jobs with a trigger, their steps, history and runs.

- :mod:`jobs.definitions.spec`: a definition's fields, declared once, and its rules;
- :mod:`jobs.definitions.graph`: the step graph and the dependencies must stay sound;
- :mod:`jobs.definitions.store`: saving definitions, with their history of changes;
- :mod:`jobs.definitions.yaml_io`: YAML export and import (validated whole, dry run);
- :mod:`jobs.definitions.campaigns`: the campaigns whose end raises the campaign trigger;
- :mod:`jobs.definitions.service`: :class:`DefinitionService`, the façade the dashboard and
  the CLI call (``JobService(db).definitions``);
- :mod:`jobs.definitions.steps`: what each step type does.
"""
