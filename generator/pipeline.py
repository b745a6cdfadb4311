"""The pipeline, stage by stage: read → model → plan → render → seal → write; and publish.

Each stage takes plain data and returns plain data; this module runs them in order, one short
function per stage, reports progress, and decides whether input problems stop the build. The
quick rebuild of a session (`incremental/session.py`) calls these functions too: it never has a
copy of its own. A large export goes through the same stages a batch of customers at a time
(`_build_in_batches`, with `read/spill.py`), so that memory follows the batch, not the export.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from functools import partial
from pathlib import Path

from .config import Config, check_setting_names
from .faults import moment
from .garbage import garbage_collection_paused
from .locks import LockHeld, exclusive
from .mail import (
    DeliveryReport,
    Invitation,
    InviteOptions,
    NotifiedRecord,
    NotifyOptions,
    NotifyPlan,
    Published,
    SentRecord,
    notified_path,
    plan_invitations,
    plan_notifications,
    record_path,
    send_invitations,
    send_notifications,
)
from .model import (
    ACROSS_CUSTOMERS,
    UNKNOWN_REFERENCE,
    UNOPENABLE,
    CustomerBook,
    Ledger,
    build_ledger,
    document_files,
    newest_export_date,
    warn_unopenable,
)
from .output import (
    ENGINE_VERSION,
    BuildMode,
    BuildState,
    EngineReport,
    InputDigests,
    ProcessLost,
    Recipes,
    StagedOutput,
    TemplateDigests,
    input_fingerprint,
    keys_digests,
    read_state,
    recover_output,
    run,
    run_apart,
    shared_keys_digest,
)
from .problems import Problem, ProblemLog, describe_os_error
from .progress import Progress
from .publish import (
    PublishError,
    PublishOptions,
    PublishReport,
    Store,
    Target,
    open_store,
    output_is_stale,
    publish_build,
    published_objects,
)
from .read import Export, LoadError, Page, RowOwners, read_export, read_pages
from .read.documents import DocumentRefused
from .read.spill import NotBatchable, Spill, batches_for, spill_export
from .render import (
    AssetError,
    AssetManifest,
    Renderer,
    RenderError,
    SignInTexts,
    ThemeError,
    Unsealed,
    collect_assets,
    load_theme,
)
from .seal import (
    MIN_ITERATIONS,
    AccessChanges,
    Gate,
    Keystore,
    KeystoreError,
    encrypted_portals_exist,
    kdf_iterations,
    master_key,
    open_keystore,
    read_keystore,
    sync_access,
)
from .seal.padding import add_decoys
from .seal.shells import add_entry_shells
from .site import PAGE, SitePlan, plan_site, portal_slugs
from .site.shards import Shard

__all__ = ["BuildOptions", "BuildResult", "Progress", "build", "check", "invite", "notify", "publish"]


@dataclass
class BuildOptions:
    strict: bool = False
    only: set[str] | None = None  # customer ids; None for all
    output_dir: Path | None = None  # default: from config
    encrypt: bool = True  # False: a plain preview for staff, with a PREVIEW banner
    new_keystore: bool = False  # create the keystore on purpose
    in_ci: bool = False  # never create a keystore implicitly in CI
    full: bool = False  # ignore the previous build's state: render everything
    workers: int | None = None  # processes that render; default: one per core
    shard: Shard | None = None  # build only this shard's portals (the keystore must be ready: `portico keys`)


@dataclass
class PortalSummary:
    customer_id: str
    name: str
    slug: str
    pages: int
    files: int


@dataclass
class Workshop:
    """What a build made on its way, for a long-running session that rebuilds part of the site later."""

    config: Config
    options: BuildOptions
    mode: BuildMode
    ledger: Ledger
    owners: RowOwners | None  # whose each export row is, when the build was asked to remember
    slugs: dict[str, str]
    keystore: Keystore | None
    pages: list[Page]
    assets: AssetManifest
    renderer: Renderer
    templates: TemplateDigests
    sign_in_texts: SignInTexts  # the shared script of the sign-in page's words
    state: BuildState | None = None  # the output's state as this build wrote it


@dataclass
class BuildResult:
    problems: ProblemLog
    output_dir: Path | None = None
    portals: list[PortalSummary] = field(default_factory=list)
    files: int = 0
    pages: int = 0
    bytes: int = 0
    seconds: float = 0.0
    failure: str | None = None  # why nothing was written, if it was not
    encrypted: bool = False
    keystore_created: bool = False
    access: AccessChanges | None = None
    notices: list[str] = field(default_factory=list)  # things staff must know (new keys, unsafe settings)
    noop: bool = False  # nothing the build reads changed since the last build
    engine: EngineReport | None = None  # what was rendered and what carried over
    assets: dict[str, str] = field(default_factory=dict)  # static file → its fingerprinted path
    workshop: Workshop | None = None  # kept only when the caller asked to remember the build
    usage_error: bool = False  # the failure is in what was asked (an unknown customer id), not in the export
    unopenable: list[str] = field(default_factory=list)  # customers whose portal no contact can sign in to
    read_again: int | None = None  # a quick rebuild: the customers whose rows were read (None: the whole export)
    inputs: InputDigests | None = None  # what the build read, taken before it read (the keystore as it left it)
    batches: int = 0  # how many batches of customers the export was read in (0: whole)

    @property
    def ok(self) -> bool:
        return self.failure is None


@dataclass
class Prepared:
    """What a shard would otherwise read the whole export for, from the pass that did (`portico
    keys`, `incremental/row_index.py`): the books of the shard's customers, read from their rows
    alone, every customer's slug, the problems the whole export has."""

    ledger: Ledger  # the shard's customers' books, and what every portal shares
    slugs: dict[str, str]  # every customer's
    problems: ProblemLog  # the whole export's
    slug_problems: list[Problem]  # two customers that would share a folder (reported after the content pages')
    unopenable: list[str]
    customers: set[str]  # the shard's


class BuildFailed(Exception):
    pass


class UnknownCustomer(BuildFailed):
    """`--customer` named an id the export does not have."""


BUILD_ERRORS = (
    ProcessLost,
    LoadError,
    ThemeError,
    AssetError,
    RenderError,
    DocumentRefused,
    KeystoreError,
    BuildFailed,
    LockHeld,
)


# -- check ----------------------------------------------------------------------------------------


def check(config: Config, progress: Progress | None = None) -> tuple[Ledger | None, ProblemLog]:
    """Read and model the export, reporting every problem; build nothing."""
    problems = ProblemLog()
    try:
        with garbage_collection_paused():
            ledger = model_stage(config, read_stage(config, problems, progress or Progress()), problems, progress)
    except LoadError as exc:
        problems.error(str(exc).split(":")[0], None, None, str(exc), "unreadable-file")
        return None, problems
    portal_slugs(config, ledger, None, problems)
    read_pages(config.path(config.content_dir), problems)
    check_names(config, ledger, problems)
    return ledger, problems


# -- build ----------------------------------------------------------------------------------------


def build(
    config: Config,
    options: BuildOptions | None = None,
    progress: Progress | None = None,
    *,
    remember: bool = False,
    reread: bool = False,
    prepare: Callable[[InputDigests], Prepared | None] | None = None,
) -> BuildResult:
    """Build the site. `remember`: keep what the build made (`result.workshop`), with whose each
    export row is; `reread`: read the export even if nothing changed (to remember it); `prepare`:
    a shard's books, slugs and problems (None: read the whole export), asked for only when there
    is something to build, given the inputs as the build found them before reading."""
    options = options or BuildOptions()
    progress = progress or Progress()
    started = time.perf_counter()
    result = BuildResult(ProblemLog(), options.output_dir or config.output_dir, encrypted=options.encrypt)
    try:
        with locked_for_build(config, result.output_dir, options.encrypt):
            _build(config, options, progress, result, remember, reread, prepare)
    except BUILD_ERRORS as exc:
        result.failure, result.usage_error = str(exc), isinstance(exc, UnknownCustomer)
    except OSError as exc:  # the disk, not the input (a read-only keystore folder, say)
        result.failure = describe_os_error(exc)
    result.seconds = time.perf_counter() - started
    return result


@contextmanager
def locked_for_build(config: Config, output_dir: Path, encrypt: bool) -> Iterator[None]:
    """A build writes its output folder and (encrypted) the keystore: no other process may meanwhile."""
    with exclusive(output_dir, f"the output folder {output_dir}"):
        if not encrypt:
            yield
            return
        keystore = config.path(config.gate.keystore)
        with exclusive(keystore, f"the keystore {keystore}"):
            yield


def _build(
    config: Config,
    options: BuildOptions,
    progress: Progress,
    result: BuildResult,
    remember: bool,
    reread: bool,
    prepare: Callable[[InputDigests], Prepared | None] | None = None,
) -> None:
    recover_output(result.output_dir)  # a build killed in the middle of its swap
    previous = None if options.full else read_state(result.output_dir)
    inputs = InputDigests.take(config)  # before anything is read: a file changed meanwhile is looked at again next time
    if not reread and nothing_changed(config, options, previous, inputs.fingerprint()):
        if options.encrypt:  # nothing to build, but the keystore must still open, and be protected
            keystore_at_rest(read_keystore(config.path(config.gate.keystore)), result)
        result.noop, result.files, result.bytes, result.pages = (
            True,
            len(previous.files),
            previous.bytes,
            previous.pages,
        )
        result.portals = [PortalSummary("", "", slug, pages, files) for slug, pages, files in previous.portals]
        return
    count = batches_for(config) if prepare is None and options.only is None and options.shard is None else 0
    if count:
        with _batch_folder(result.output_dir) as folder:
            batches = _batches(config, progress, result, folder, count)
            if batches is not None:
                _build_in_batches(config, options, progress, result, inputs, previous, batches)
                return
    with garbage_collection_paused(keep=True):  # millions of objects that live as long as the build, no cycles
        workshop, plan = _planned(config, options, progress, result, remember, inputs, prepare)
    out = _staged(config, options, result, inputs, workshop, previous)
    result.portals = summaries(plan)
    result.pages = sum(1 for f in plan.files if f.kind == PAGE)
    out.pages, out.portals = result.pages, [[p.slug, p.pages, p.files] for p in result.portals]
    render_stage(workshop, plan, out, previous, progress, result)
    if remember:
        workshop.state = out.written_state
        result.workshop = workshop


@contextmanager
def _batch_folder(output_dir: Path) -> Iterator[Path]:
    """Where the export's lines are filed by batch: beside the output, readable by this user only,
    removed when the build ends; a folder a killed build left (the export's rows, in clear) is
    removed by the next build, which holds the output's lock."""
    for leftover in output_dir.parent.glob(f".{output_dir.name}.batches-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{output_dir.name}.batches-", dir=output_dir.parent) as folder:
        yield Path(folder)


def _staged(
    config: Config,
    options: BuildOptions,
    result: BuildResult,
    inputs: InputDigests,
    workshop: Workshop,
    previous: BuildState | None,
) -> StagedOutput:
    # the keystore as this build left it: only an encrypted build writes it (holding its lock)
    result.inputs = inputs.saved(config.path(config.gate.keystore)) if options.encrypt else inputs
    out = StagedOutput(result.output_dir, result.inputs.fingerprint(), workshop.mode, previous)
    out.rekey_after = rekey_after(workshop.keystore, options)
    return out


def _planned(
    config: Config,
    options: BuildOptions,
    progress: Progress,
    result: BuildResult,
    remember: bool,
    inputs: InputDigests,
    prepare: Callable[[InputDigests], Prepared | None] | None,
    batches: Batches | None = None,
) -> tuple[Workshop, SitePlan | None]:
    """Everything before rendering: the export read and modelled, the keys, the slugs, the plan
    (none for `batches`: each batch plans its own portals)."""
    problems = result.problems
    owners = RowOwners() if remember and batches is None else None
    prepared = prepare(inputs) if prepare is not None else None
    ledger = batches.ledger if batches is not None else _ledger(config, progress, result, owners, prepared)
    if options.only and (unknown := ledger.unknown(options.only)):
        raise UnknownCustomer(unknown)
    pages = read_pages(config.path(config.content_dir), problems)
    keystore = keystore_stage(config, options, result)
    if prepared is not None:
        slugs = prepared.slugs
        problems.problems += prepared.slug_problems
    else:
        slugs = portal_slugs(config, ledger, keystore.site_key if keystore else None, problems)
    if options.strict and problems.errors:
        raise BuildFailed(f"{len(problems.errors)} error(s) in the input (strict mode); nothing was written")
    if options.encrypt and prepared is not None:  # `portico keys` brought the keystore in line with these inputs
        unsafe_kdf_noted(result)
        result.access = AccessChanges()
    elif options.encrypt:
        result.access = access_stage(keystore, ledger, slugs, progress, result, write=options.shard is None)
    only = options.only
    if options.shard is not None:
        only = {customer_id for customer_id, folder in slugs.items() if options.shard.holds(folder)}
    workshop = workshop_for(config, options, ledger, slugs, keystore, pages, owners)
    result.assets = workshop.assets.published()
    if batches is not None:
        return workshop, None
    plan = plan_stage(config, ledger, pages, workshop.assets.files(), slugs, options, only)
    return workshop, plan


def _ledger(
    config: Config, progress: Progress, result: BuildResult, owners: RowOwners | None, prepared: Prepared | None
) -> Ledger:
    """The export read and modelled, its problems reported; for a shard that `portico keys`
    prepared, its customers' books, and the problems of the whole export that pass found."""
    if prepared is not None:
        result.unopenable, result.read_again = prepared.unopenable, len(prepared.customers)
        result.problems.problems[:] = prepared.problems.problems
        result.problems.skipped = prepared.problems.skipped.copy()
        return prepared.ledger
    ledger = model_stage(config, read_stage(config, result.problems, progress, owners), result.problems, progress)
    check_names(config, ledger, result.problems)
    result.unopenable = ledger.unopenable()
    return ledger


@dataclass
class Batches:
    """A large export read a batch of customers at a time (`read/spill.py`): every customer's
    book without its documents, for what takes all of them (slugs, keys); each batch's lines."""

    ledger: Ledger  # every customer, in the export's order; only the customers themselves
    spill: Spill
    folder: Path  # the build's batch folder: the spilled lines, and each batch's modelled books


def _batches(config: Config, progress: Progress, result: BuildResult, folder: Path, count: int) -> Batches | None:
    """Each batch read and modelled for its problems and customers; None when the export must be
    read whole (the problems found meanwhile forgotten: the whole read finds them again)."""
    try:
        with garbage_collection_paused(keep=True):
            return _read_in_batches(config, progress, result.problems, folder, count)
    except NotBatchable as exc:
        progress.stage(f"Reading the export whole ({exc})")
        result.problems = ProblemLog()
        return None


def _read_in_batches(config: Config, progress: Progress, problems: ProblemLog, folder: Path, count: int) -> Batches:
    progress.stage(f"Splitting the export into {count} batches")
    spill = spill_export(config, folder, count)
    customers: dict[str, tuple[int, CustomerBook]] = {}  # id -> (its first row, its book without documents)
    groups: set[str] = set()
    given: dict[tuple[int, int], str] = {}  # document file -> customer
    shared: tuple | None = None
    progress.stage(f"Reading the export in {count} batches", count)
    for read in _each_batch(config, spill, folder):
        if (shared := shared or read.shared) != read.shared:
            raise NotBatchable("what every portal shares differs between batches")
        for file, customer_id in read.documents.items():
            if given.setdefault(file, customer_id) != customer_id:
                raise NotBatchable("a document file two customers' rows name")
        problems.problems += [p for p in read.problems if p.kind != UNOPENABLE]  # (said once, of all of them)
        groups |= read.groups
        for customer_id, first in read.customers.items():
            customers.setdefault(customer_id, first)
        progress.advance()
    if groups & spill.customers:
        raise NotBatchable("a customer's group is another customer's id")
    problems.problems = sorted(dict.fromkeys(spill.problems.problems + problems.problems), key=_place)
    problems.skipped = spill.problems.skipped
    books = {customer_id: book for customer_id, (_, book) in sorted(customers.items(), key=lambda item: item[1][0])}
    ledger = Ledger(shared[0], books, *shared[1:])
    warn_unopenable(config, ledger, problems)
    check_names(config, ledger, problems)
    return Batches(ledger, spill, folder)


@dataclass
class BatchRead:
    """What the build keeps of a batch read and modelled (its books wait on disk to be rendered)."""

    problems: list[Problem]
    customers: dict[str, tuple[int, CustomerBook]]  # id -> (its first row, its book without documents)
    groups: set[str]  # the customers' groups
    documents: dict[tuple[int, int], str]  # each document file and the customer it went to
    shared: tuple  # what every portal shares: as of, catalogue, price lists


_BATCH_JOB: dict = {}  # set before forking; the workers inherit it


def _each_batch(config: Config, spill: Spill, folder: Path) -> Iterator[BatchRead]:
    """Each batch read and modelled, in order: in as many processes as there are cores (each
    holding one batch), so the build's own process never holds a batch's records."""
    workers = min(os.cpu_count() or 1, spill.batches)
    _BATCH_JOB.update(config=config, spill=spill, folder=folder)
    try:
        if workers > 1 and "fork" in multiprocessing.get_all_start_methods():
            with multiprocessing.get_context("fork").Pool(workers, maxtasksperchild=1) as pool:
                yield from pool.imap(_read_batch, range(spill.batches))
        else:
            yield from map(_read_batch, range(spill.batches))
    finally:
        _BATCH_JOB.clear()


def _read_batch(batch: int) -> BatchRead:
    config, spill = _BATCH_JOB["config"], _BATCH_JOB["spill"]
    export, read = spill.read(config, batch)
    ledger = model_stage(config, export, read)
    if any(problem.kind in ACROSS_CUSTOMERS for problem in read.problems):
        raise NotBatchable("a problem only the whole export can judge")
    if any(problem.kind == UNKNOWN_REFERENCE and problem.entity != "prices" for problem in read.problems):
        raise NotBatchable("a number a batch does not know may be another batch's")  # (prices: the shared catalogue)
    if ledger.books.keys() - spill.customers_of(batch):
        raise NotBatchable("a customer read with another's rows")
    customers, groups = {}, set()
    for record in export.get("customers", ()):
        groups.add(record.fields.get("group"))
        if (book := ledger.books.get(record.fields.get("id"))) is not None:
            customers.setdefault(book.customer.id, (record.origin.row, CustomerBook(book.customer)))
    documents = document_files(ledger.books.values())
    _keep_modelled(ledger, _BATCH_JOB["folder"], batch)
    return BatchRead(
        read.problems, customers, groups, documents, (ledger.as_of, ledger.catalogue, ledger.has, ledger.price_lists)
    )


def _modelled_file(folder: Path, batch: int) -> Path:
    return folder / f"batch-{batch}.ledger"


def _keep_modelled(ledger: Ledger, folder: Path, batch: int) -> None:
    """A batch's modelled books, for its rendering to load instead of reading and modelling the
    batch again (loading takes a sixth of that, in the process that then renders). Pickled into
    the build's own batch folder (this user's only, written by no one else, removed with it),
    a book at a time: a pickle remembers every object it wrote until it ends, which for a whole
    batch would cost more memory than the batch's records."""
    with open(_modelled_file(folder, batch), "xb") as file:
        pickle.dump((replace(ledger, books={}), len(ledger.books)), file, protocol=pickle.HIGHEST_PROTOCOL)
        for customer_id, book in ledger.books.items():
            pickle.dump((customer_id, book), file, protocol=pickle.HIGHEST_PROTOCOL)


def _modelled(folder: Path, batch: int) -> Ledger:
    """The books `_keep_modelled` left, which live as long as the batch's process (so frozen)."""
    with open(_modelled_file(folder, batch), "rb") as file, garbage_collection_paused(keep=True):
        ledger, count = pickle.load(file)
        ledger.books = dict(pickle.load(file) for _ in range(count))
        return ledger


def _place(problem: Problem) -> tuple:
    """A batched build lists problems by file and row (a file's own problems first)."""
    return problem.file, problem.row or 0


def _build_in_batches(
    config: Config,
    options: BuildOptions,
    progress: Progress,
    result: BuildResult,
    inputs: InputDigests,
    previous: BuildState | None,
    batches: Batches,
) -> None:
    """Keys and slugs for every customer at once; then each batch's books loaded, planned, rendered
    and sealed into the same staged output, in a process of its own (whose memory all goes when
    the batch is done). Nothing is remembered for a quick rebuild (that would hold the whole export)."""
    workshop, _ = _planned(config, options, progress, result, False, inputs, None, batches)
    result.unopenable, result.batches = workshop.ledger.unopenable(), batches.spill.batches
    out = _staged(config, options, result, inputs, workshop, previous)
    workshop.renderer.load_templates()  # once, not in every worker of every batch
    result.engine = EngineReport(workers=0)
    site_files: set[str] = set()  # rendered with an earlier batch: the site's own files, files portals share
    portals: list[PortalSummary] = []
    count = batches.spill.batches
    with _writing(out, previous):
        for batch in range(count):
            progress.stage(f"Rendering portals (batch {batch + 1} of {count})")
            job = partial(_render_batch, workshop, batches.folder, batch, out, previous, site_files)
            done = run_apart(out, job, progress.advance)
            site_files |= done.site_files
            portals += done.portals
            result.pages += done.pages
            result.engine.rendered += done.engine.rendered
            result.engine.reused += done.engine.reused
            result.engine.workers = max(result.engine.workers, done.engine.workers)
        result.portals = sorted(portals, key=lambda p: p.slug)
        out.pages, out.portals = result.pages, [[p.slug, p.pages, p.files] for p in result.portals]
    result.engine.rendered.sort()
    result.files, result.bytes = out.files, out.bytes


@dataclass
class BatchRendered:
    portals: list[PortalSummary]
    pages: int
    engine: EngineReport
    site_files: set[str]  # the files of no one portal it planned


def _render_batch(
    workshop: Workshop,
    folder: Path,
    batch: int,
    out: StagedOutput,
    previous: BuildState | None,
    site_files: set[str],
    on_progress: Callable[[int], None],
) -> BatchRendered:
    """The batch's books as its reading modelled them (which reported their problems), planned and rendered."""
    w = workshop
    ledger = _modelled(folder, batch)
    plan = plan_stage(w.config, ledger, w.pages, w.assets.files(), w.slugs, w.options)
    plan.files = [f for f in plan.files if f.portal is not None or f.output_path not in site_files]
    engine = _render(workshop, plan, ledger, out, previous, on_progress)
    pages = sum(1 for f in plan.files if f.kind == PAGE)
    return BatchRendered(summaries(plan), pages, engine, {f.output_path for f in plan.files if f.portal is None})


def workshop_for(
    config: Config,
    options: BuildOptions,
    ledger: Ledger,
    slugs: dict[str, str],
    keystore: Keystore | None,
    pages: list[Page],
    owners: RowOwners | None = None,
    compiled: dict[str, bytes] | None = None,
    sign_in_texts: SignInTexts | None = None,
) -> Workshop:
    """What rendering needs besides the plan (theme, assets, sealer, renderer), with what the
    build read: made by a build, or by a quick rebuild in a new process from what was kept
    (with the templates the last build compiled and the sign-in texts it made from every
    language's catalogue: the theme is the same, or the rebuild would not be quick)."""
    theme = load_theme(config)
    assets = collect_assets(config, theme.assets())
    sealer = Gate(config, keystore) if options.encrypt else Unsealed()
    renderer = Renderer(config, theme, assets, sealer, preview=not options.encrypt, compiled=compiled)
    sign_in_texts = sign_in_texts or renderer.sign_in_texts()
    assets.add(*sign_in_texts)  # shared by every shell
    mode = build_mode(options, keystore)
    templates = TemplateDigests(renderer.env)
    return Workshop(
        config, options, mode, ledger, owners, slugs, keystore, pages, assets, renderer, templates, sign_in_texts
    )


def rekey_after(keystore: Keystore | None, options: BuildOptions) -> str | None:
    """The first day a direct link made with --valid-days ends: the first build after it must
    re-key that page even if nothing it reads changed (the build state remembers the day)."""
    return keystore.first_link_expiry() if keystore is not None and options.encrypt else None


@dataclass
class WholeExport:
    """What `portico keys` read of the whole export, for the shards after it to read only their
    own rows (`incremental/row_index.py` keeps it)."""

    ledger: Ledger
    owners: RowOwners  # whose each export row is
    slugs: dict[str, str]
    keystore: Keystore  # as it was saved
    inputs: InputDigests  # taken before the export was read, the keystore as it was saved
    problems: ProblemLog  # the export's and its settings'
    slug_problems: list[Problem]


def prepare_keys(
    config: Config,
    options: BuildOptions,
    progress: Progress | None = None,
    keep: Callable[[WholeExport], None] | None = None,
) -> BuildResult:
    """`portico keys`: bring the keystore in line with the export (keys, passwords, key slots,
    revocations) and render nothing: the step before N shards build side by side, none of which
    may write the keystore. `keep` is given what was read, once the keystore is saved."""
    progress = progress or Progress()
    result = BuildResult(ProblemLog(), options.output_dir or config.output_dir, encrypted=True)
    started = time.perf_counter()
    keystore_file = config.path(config.gate.keystore)
    owners = RowOwners() if keep is not None else None
    try:
        with exclusive(keystore_file, f"the keystore {keystore_file}"):
            inputs = InputDigests.take(config)
            with garbage_collection_paused(keep=True):
                export = read_stage(config, result.problems, progress, owners)
                ledger = model_stage(config, export, result.problems, progress)
            check_names(config, ledger, result.problems)
            result.unopenable = ledger.unopenable()
            keystore = keystore_stage(config, options, result)
            read = ProblemLog(list(result.problems.problems), result.problems.skipped.copy())
            slugs = portal_slugs(config, ledger, keystore.site_key, result.problems)
            if options.strict and result.problems.errors:
                errors = len(result.problems.errors)
                raise BuildFailed(f"{errors} error(s) in the input (strict mode); nothing was written")
            result.access = access_stage(keystore, ledger, slugs, progress, result)
            if keep is not None:
                slug_problems = result.problems.problems[len(read.problems) :]
                whole = WholeExport(ledger, owners, slugs, keystore, inputs.saved(keystore_file), read, slug_problems)
                keep(whole)
    except BUILD_ERRORS as exc:
        result.failure = str(exc)
    except OSError as exc:
        result.failure = describe_os_error(exc)
    result.seconds = time.perf_counter() - started
    return result


def recover_site(output_dir: Path) -> bool:
    """The last complete site back in place if a build died in the middle of its swap (never while
    a live build holds the output: that one is about to finish the swap itself)."""
    try:
        with exclusive(output_dir, f"the output folder {output_dir}"):
            return recover_output(output_dir)
    except LockHeld:
        return False


def nothing_changed(
    config: Config, options: BuildOptions, previous: BuildState | None, inputs: str | None = None
) -> bool:
    """Whether the last build read exactly what this one would, in the same mode (by content);
    `inputs`: the fingerprint if the caller has taken it already."""
    return (
        previous is not None
        and previous.inputs == (inputs or input_fingerprint(config))
        and previous.mode.same_as(build_mode(options))
        and not previous.rekey_due()
    )


def read_stage(config: Config, problems: ProblemLog, progress: Progress, owners: RowOwners | None = None) -> Export:
    progress.stage("Reading the export")
    return read_export(config, problems, on_rows=progress.advance, owners=owners)


def model_stage(config: Config, export: Export, problems: ProblemLog, progress: Progress | None = None) -> Ledger:
    if progress is not None:
        progress.stage("Joining records")
    return build_ledger(config, export, problems, config.site.as_of or newest_export_date(config))


def check_names(config: Config, ledger: Ledger, problems: ProblemLog) -> None:
    """Settings that name customers or groups the export does not have."""
    groups = {book.customer.group for book in ledger.books.values() if book.customer.group}
    check_setting_names(config, set(ledger.books), groups, problems)


def keystore_stage(config: Config, options: BuildOptions, result: BuildResult) -> Keystore | None:
    """The keystore an encrypted build needs; a preview reads one if it exists (for the slugs)."""
    path = config.path(config.gate.keystore)
    if not options.encrypt:
        return read_keystore(path) if path.exists() else None
    if path.is_relative_to(result.output_dir):
        raise BuildFailed(f"gate.keystore {path} is inside the output folder; it would be published")
    if options.shard is not None and not path.exists():
        raise BuildFailed(f"no keystore at {path}: a shard never makes one; run `portico keys` once before the shards")
    keystore, created = open_keystore(
        path, create=options.new_keystore, in_ci=options.in_ci, portals_exist=encrypted_portals_exist(result.output_dir)
    )
    keystore_at_rest(keystore, result)
    if created:
        result.keystore_created = True
        result.notices.append(
            f"created a new keystore at {path}: back it up; without it no portal can be rebuilt with the same keys"
        )
    if master_key() is None:
        result.notices.append("the keystore is not encrypted at rest (set PORTICO_MASTER_KEY); written with mode 0600")
    return keystore


def keystore_at_rest(keystore: Keystore, result: BuildResult) -> None:
    """A master key set since the keystore was last written in clear: encrypt it (and its .bak) now."""
    if master_key() is not None and not keystore.encrypted and keystore.path.exists():
        keystore.save()
        result.notices.append(
            f"encrypted the keystore {keystore.path} and its backup with PORTICO_MASTER_KEY: "
            "keep that key safe, every later build needs it"
        )


def access_stage(
    keystore: Keystore,
    ledger: Ledger,
    slugs: dict[str, str],
    progress: Progress,
    result: BuildResult,
    write: bool = True,
) -> AccessChanges:
    """Keys for every customer, a password and key slot for every contact with access; revocations.
    With `write` off (a shard, one of many machines) the keystore must already be in line with the
    export: a shard that changed it would hand out keys the others never see."""
    iterations = unsafe_kdf_noted(result)
    progress.stage("Key slots")
    before = keystore.to_json() if not write else None
    changes = sync_access(keystore, ledger, iterations, on_slot=progress.advance, slugs=slugs)
    if not write:
        if keystore.to_json() != before:
            raise BuildFailed(
                f"the keystore is not in line with the export ({describe_access(changes) or 'changed'}); a shard never "
                "writes it. Run `portico keys` once before the shards; nothing was written"
            )
        return changes
    keystore.save()
    moment("keystore-saved")
    return changes


def unsafe_kdf_noted(result: BuildResult) -> int:
    """The KDF iterations key slots are made with; a notice when it is the tests' unsafe setting."""
    iterations = kdf_iterations()
    if iterations < MIN_ITERATIONS:
        result.notices.append(
            f"UNSAFE: key slots use {iterations} PBKDF2 iterations (a test-only setting); never publish this build"
        )
    return iterations


def describe_access(changes: AccessChanges) -> str:
    parts = [
        f"{len(changes.new_customers)} new customer(s)" if changes.new_customers else "",
        f"{len(changes.new_passwords)} new password(s)" if changes.new_passwords else "",
        f"{changes.slots_made} key slot(s)" if changes.slots_made else "",
        f"{len(changes.rotated)} customer(s) re-keyed" if changes.rotated else "",
        f"{len(changes.expired_links)} ended direct link(s)" if changes.expired_links else "",
    ]
    return ", ".join(p for p in parts if p)


def build_mode(options: BuildOptions, keystore: Keystore | None = None) -> BuildMode:
    return BuildMode(
        ENGINE_VERSION,
        options.encrypt,
        options.strict,
        tuple(sorted(options.only)) if options.only else None,
        keystore.public_id if keystore is not None and options.encrypt else None,
        str(options.shard) if options.shard is not None else None,
    )


def render_stage(
    workshop: Workshop,
    plan: SitePlan,
    out: StagedOutput,
    previous: BuildState | None,
    progress: Progress,
    result: BuildResult,
    workers: int | None = None,
) -> None:
    """Render, seal and write what changed, then swap it into the output."""
    progress.stage("Rendering portals", len(plan.files))
    with _writing(out, previous):
        result.engine = _render(workshop, plan, workshop.ledger, out, previous, progress.advance, workers)
    result.files, result.bytes = out.files, out.bytes


def _render(
    workshop: Workshop,
    plan: SitePlan,
    ledger: Ledger,
    out: StagedOutput,
    previous: BuildState | None,
    on_progress: Callable[[int], None],
    workers: int | None = None,
) -> EngineReport:
    """Render, seal and stage what changed of the plan (`ledger`: whose books it shows)."""
    w = workshop
    encrypted = w.options.encrypt
    keystore = w.keystore if encrypted else None
    recipes = Recipes(
        w.config,
        ledger,
        w.templates,
        encrypted,
        keys_digests(keystore),
        w.pages,
        w.assets.published(),
        shared_keys_digest(keystore),
    )
    return run(
        plan,
        w.renderer,
        out,
        recipes,
        previous,
        on_progress,
        workers if workers is not None else w.options.workers,
    )


@contextmanager
def _writing(out: StagedOutput, previous: BuildState | None) -> Iterator[None]:
    """Staged files swapped into the output at the end; on a full disk or a read-only folder the
    staged files go, and the output stays."""
    with out:
        try:
            yield
        except OSError as exc:
            last = previous or read_state(out.output_dir)
            needed = last.bytes if last is not None else None  # about what the last build took
            kept = f"{out.output_dir} still holds the last build"
            raise BuildFailed(f"{describe_os_error(exc, needed, out.output_dir)}; {kept}") from None


def plan_stage(
    config: Config,
    ledger: Ledger,
    pages: list[Page],
    static_files: dict[str, bytes],
    slugs: dict[str, str],
    options: BuildOptions,
    only: set[str] | None = None,
) -> SitePlan:
    """Every file to make; in an encrypted build, with the decoys that make file counts coarse
    and each portal's entry shell, its one public page."""
    plan = plan_site(config, ledger, pages, static_files, slugs, only if only is not None else options.only)
    if options.encrypt:
        add_decoys(plan, config.gate.padding, ledger.as_of)
        add_entry_shells(plan)
    return plan


def summaries(plan: SitePlan) -> list[PortalSummary]:
    pages, files = plan.pages_per_portal(), plan.files_per_portal()
    return [PortalSummary(p.customer_id, p.name, p.slug, pages[p.slug], files[p.slug]) for p in plan.portals]


# -- publish --------------------------------------------------------------------------------------


def publish(
    config: Config,
    options: PublishOptions,
    progress: Progress | None = None,
    store_factory: Callable[[Target, object], Store] = open_store,
    prepare: Callable[[Config, BuildOptions, Progress, InputDigests], Prepared | None] | None = None,
) -> PublishReport:
    """Build first if anything the build reads changed (unless told not to), then publish.
    `prepare`: what a shard's build needs instead of the whole export, when there is such a thing."""
    progress = progress or Progress()
    output = config.output_dir
    try:
        with exclusive(output, f"the output folder {output}"):  # no build changes what is being sent
            recover_output(output)
            state = read_state(output)
            if options.build and output_is_stale(config, state, options.shard):
                again = BuildOptions(strict=options.strict, in_ci=options.in_ci, shard=options.shard)
                shard = partial(prepare, config, again, progress) if prepare is not None else None
                result = build(config, again, progress, prepare=shard)
                if not result.ok:
                    raise PublishError(f"the build failed, nothing was published: {result.failure}")
                state = read_state(output)
            return publish_build(config, options, state, progress, store_factory)
    except LockHeld as exc:
        raise PublishError(str(exc)) from None


# -- invite ---------------------------------------------------------------------------------------


@dataclass
class InviteResult:
    invitations: list[Invitation]  # every contact asked about, each with why it is skipped, if it is
    report: DeliveryReport | None = None  # None: a dry run


def invite(config: Config, options: InviteOptions, progress: Progress | None = None) -> InviteResult:
    """Invite contacts to their published portals: read the export and the keystore, ask the
    publish target which portals are live, then send (or, dry, only list) the invitations."""
    progress = progress or Progress()
    ledger, keystore = mail_inputs(config, options.customers, progress)
    keystore_path = config.path(config.gate.keystore)
    with exclusive(record_path(keystore_path), "the record of sent e-mail"):  # no two runs send the same
        record = SentRecord(record_path(keystore_path))
        invitations = plan_invitations(config, ledger, keystore, published_objects(config), record, options)
        if options.dry_run:
            return InviteResult(invitations)
        progress.stage("Sending invitations", sum(1 for i in invitations if not i.skipped))
        renderer = mail_renderer(config)
        report = send_invitations(config, renderer, ledger, keystore, invitations, record, progress.advance)
    return InviteResult(invitations, report)


def mail_inputs(config: Config, customers: list[str], progress: Progress) -> tuple[Ledger, Keystore]:
    ledger, _ = check(config, progress)
    if ledger is None:
        raise BuildFailed("the export could not be read (run portico check); nothing was sent")
    if unknown := ledger.unknown(customers):
        raise UnknownCustomer(unknown)
    return ledger, read_keystore(config.path(config.gate.keystore))


def mail_renderer(config: Config) -> Renderer:
    theme = load_theme(config)
    return Renderer(config, theme, collect_assets(config, theme.assets()))


# -- notify ---------------------------------------------------------------------------------------


class NotifyRefused(BuildFailed):
    pass


@dataclass
class NotifyResult:
    plan: NotifyPlan
    report: DeliveryReport | None = None  # None: a dry run


def notify(config: Config, options: NotifyOptions, progress: Progress | None = None) -> NotifyResult:
    """E-mail contacts what is new in their published portals since the last notify (and the
    password resets waiting for a publish). Only from a build of the current export, and only
    for pages the target holds as built."""
    progress = progress or Progress()
    ledger, keystore = mail_inputs(config, options.customers, progress)
    output = config.output_dir
    with exclusive(output, f"the output folder {output}"):
        recover_output(output)
        state = read_state(output)
    if output_is_stale(config, state):
        raise NotifyRefused(
            "the export, settings or keys changed since the last build: build and publish first, then notify "
            "(or run portico publish --notify)"
        )
    keystore_path = config.path(config.gate.keystore)
    published = Published(published_objects(config, options.target, options.endpoint_url), state.files)
    with exclusive(notified_path(keystore_path), "the record of notifications"):
        record = NotifiedRecord(notified_path(keystore_path), read_only=options.dry_run)
        sent = SentRecord(record_path(keystore_path))
        plan = plan_notifications(config, ledger, keystore, published, record, sent, options)
        if options.dry_run:
            return NotifyResult(plan)
        progress.stage("Sending notifications", sum(len(n.recipients) for n in plan.notices if not n.held))
        today = options.today or date.today()
        report = send_notifications(
            config, mail_renderer(config), ledger, keystore, plan.notices, record, sent, today, progress.advance
        )
    return NotifyResult(plan, report)
