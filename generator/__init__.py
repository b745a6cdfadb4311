"""Portico: private, static customer portals built from an ERP export.

The package is the pipeline, one sub-package per stage, in the order the data flows; a stage
imports only the stages before it (the import contracts in pyproject.toml enforce it):

    config/    config.yaml: the typed schema, its checks, the entity field tables
    read/      the export's files, of any format, into records with file, row and column
    model/     records joined into one book per customer; hidden fields; derived figures
    site/      the plan: portals, their sections, every file to make
    render/    templates of a theme in each customer's language and formats
    seal/      keys, passwords, key slots; each customer's files encrypted behind the gate
    output/    recipes, workers, staging, the swap into the output folder, the build state
    publish/   the build to a folder or S3, in a safe order, with a manifest
    pipeline.py  runs the stages: build(), check(), publish()
    incremental/  quick rebuilds: only customers whose export rows changed, in `portico serve`
               or, from what the last build kept beside the output, in the next `portico build`
    dev/       `portico serve`: the development server
    cli/       the `portico` command

problems.py (input problems with file, row and column) and progress.py are shared by all.
"""

__version__ = "0.1.0"
