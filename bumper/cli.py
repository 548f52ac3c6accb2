"""Command line: parse, call the core, print, exit. Errors become exit codes here only."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from bumper import __version__
from bumper.entry import interrupted
from bumper.errors import EXIT_INTERNAL, BumperError, UsageError


class Context:
    """Global options shared by every command."""

    def __init__(self, repo: Path | None, fmt: str, color: bool, verbose: int) -> None:
        self._repo = repo
        self.format = fmt
        self.color = color
        self.verbose = verbose

    def repo(self) -> Path:
        from bumper import config

        return self._repo.resolve() if self._repo else config.find_repo(Path.cwd())

    def config(self) -> Any:
        from bumper import config

        return config.load(self.repo())


_pass_context = click.make_pass_decorator(Context)


def _folders(config: Any, args: tuple[str, ...]) -> list[Path] | None:
    """Folders named by ``args``: folder names or paths, or files inside image folders
    (as pre-commit passes them). None when files were given but none is in an image folder.
    """
    from bumper import discover

    if not args:
        return discover.resolve(config, ())
    names: list[str] = []
    for arg in args:
        path = Path(arg)
        if path.is_file() or (not path.exists() and path.suffix):
            root = config.images_root
            full = path.resolve()
            if root in full.parents and (folder := root / full.relative_to(root).parts[0]).is_dir():
                names.append(str(folder))
            continue
        names.append(arg)
    if not names:
        return None
    return discover.resolve(config, tuple(dict.fromkeys(names)))


def _late(attr: str, convert: Any = None) -> Any:
    """Callback for a global option given after the subcommand (bumper check --format json)."""

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if value is None or value is False or value == 0:
            return
        obj = ctx.find_object(Context)
        if obj is not None:
            setattr(obj, attr, convert(value) if convert else value)

    return callback


def pass_ctx(func: Any) -> Any:
    """Pass the Context, and accept the global options after the subcommand too."""
    func = _pass_context(func)
    for option in (
        click.option("--format", type=click.Choice(["text", "json"]), expose_value=False,
                     callback=_late("format"), help="Output for people (text) or programs (json)."),
        click.option("--no-color", is_flag=True, expose_value=False,
                     callback=_late("color", lambda _: False), help="No colour."),
        click.option("--repo", type=click.Path(file_okay=False, path_type=Path),
                     expose_value=False, callback=_late("_repo"), help="Repository root."),
        click.option("-v", "--verbose", count=True, expose_value=False,
                     callback=_late("verbose"), help="More detail."),
    ):
        func = option(func)
    return func


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--repo", type=click.Path(file_okay=False, path_type=Path),
              help="Repository root (default: the git top level of the working directory).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              help="Output for people (text) or programs (json).")
@click.option("--no-color", is_flag=True, help="No colour (also: NO_COLOR=1).")
@click.option("-v", "--verbose", count=True, help="More detail.")
@click.version_option(__version__, prog_name="bumper")
@click.pass_context
def cli(ctx: click.Context, repo: Path | None, fmt: str, no_color: bool, verbose: int) -> None:
    """Safe minor and major version bumps for versioned container image folders.

    Run without a command on a terminal to be asked what changes.

    \b
    Exit codes: 0 done or nothing to do; 1 problems found (check, lock --check,
    index missing, align); 2 usage or input error; 3 external failure (index,
    uv, git); 4 internal error; 130 interrupted.
    """
    import os

    color = not no_color and "NO_COLOR" not in os.environ and sys.stdout.isatty()
    ctx.obj = Context(repo, fmt, color, verbose)
    if ctx.invoked_subcommand is None:
        if sys.stdin.isatty() and sys.stdout.isatty():
            from bumper import interactive

            interactive.run(ctx.obj)
            ctx.exit(0)
        click.echo(ctx.get_help())
        ctx.exit(2)


@cli.command()
@click.argument("dirs", nargs=-1)
@click.option("--select", multiple=True, metavar="RULE",
              help="Only these rules: codes (L004), prefixes (L) or families (lock).")
@click.option("--ignore", multiple=True, metavar="RULE", help="Leave these rules out.")
@pass_ctx
def check(ctx: Context, dirs: tuple[str, ...], select: tuple[str, ...],
          ignore: tuple[str, ...]) -> None:
    """Report drift in image folders as path:line: CODE message (fix). Exit 1 when any."""
    from bumper import check as checks
    from bumper import output
    from bumper.findings import rule_words

    chosen, dropped = rule_words(select, "--select"), rule_words(ignore, "--ignore")
    config = ctx.config()
    paths = _folders(config, dirs)
    if paths is None:
        return
    images, findings = checks.run(config, paths, chosen, dropped)
    output.findings(ctx.format, images, findings, ctx.verbose)
    sys.exit(1 if findings else 0)


@cli.command()
@click.argument("dirs", nargs=-1)
@click.option("--upgrade", is_flag=True, help="Move every pin to the newest version allowed.")
@click.option("--upgrade-package", "packages", multiple=True, metavar="NAME",
              help="Move this package's pin to the newest allowed (repeatable).")
@click.option("--check", "check_only", is_flag=True,
              help="Write nothing; exit 1 when a lock would change beyond comment lines.")
@pass_ctx
def lock(ctx: Context, dirs: tuple[str, ...], upgrade: bool, packages: tuple[str, ...],
         check_only: bool) -> None:
    """Regenerate requirements.txt of image folders with uv (all folders when none given)."""
    from bumper import discover, locking, output

    config = ctx.config()
    paths = _folders(config, dirs)
    if paths is None:
        return
    images = [discover.load(config, path) for path in paths]
    results = locking.relock(images, upgrade=upgrade, packages=packages, write=not check_only,
                             progress=ctx.color, config=config)
    output.lock_results(ctx.format, results, check_only)
    sys.exit(1 if check_only and any(r.changed for r in results) else 0)


@cli.group()
def index() -> None:
    """Ask an image's package index what it really has."""


@index.command("versions")
@click.argument("package")
@click.option("--image", "image_dir", metavar="DIR", help="Use this image folder's index.")
@click.option("--index-url", metavar="URL", help="Use this index.")
@click.option("--spec", metavar="SPEC", help="Mark the versions that satisfy SPEC (e.g. ~=1.3.1).")
@pass_ctx
def index_versions(ctx: Context, package: str, image_dir: str | None, index_url: str | None,
                   spec: str | None) -> None:
    """The versions of PACKAGE on the index, newest first (every folder's index by default)."""
    from bumper import indexcmd

    indexcmd.versions(ctx, package, image_dir, index_url, spec)


@index.command("missing")
@click.argument("dirs", nargs=-1)
@pass_ctx
def index_missing(ctx: Context, dirs: tuple[str, ...]) -> None:
    """Lock pins the folder's index lacks, as a request list. Exit 1 when any."""
    from bumper import indexcmd

    sys.exit(indexcmd.missing(ctx, dirs))


@cli.command()
@click.argument("dirs", nargs=-1)
@click.option("--training-hub", "target", metavar="V",
              help="Check this Training Hub version as `major --training-hub V` would make it.")
@click.option("--extras", metavar="LIST",
              help="With --training-hub: these extras (e.g. lora,cuda) instead of the pin's.")
@pass_ctx
def align(ctx: Context, dirs: tuple[str, ...], target: str | None, extras: str | None) -> None:
    """Resolve each image with its Training Hub (or a target) using uv. Exit 1 if it can't."""
    from bumper import indexcmd

    sys.exit(indexcmd.align(ctx, dirs, target, extras))


def _bump_options(func: Any) -> Any:
    for option in reversed([
        click.option("--base-image", metavar="REF",
                     help="New base image: a full reference, or :TAG for each folder's own."),
        click.option("--index-url", metavar="URL",
                     help="New index URL; {accel} is rendered per folder (cuda13.0, rocm6.4...)."),
        click.option("--set", "sets", multiple=True, metavar="REQ",
                     help="A PEP 508 requirement, e.g. starlette~=1.3.1 (repeatable)."),
        click.option("--add", "adds", multiple=True, metavar="REQ",
                     help="A new direct dependency (repeatable)."),
        click.option("--remove", "removes", multiple=True, metavar="NAME",
                     help="Drop a direct dependency (repeatable)."),
        click.option("--override", "overrides", multiple=True, metavar="REQ",
                     help="Into [tool.uv] override-dependencies (repeatable)."),
        click.option("--no-lock", is_flag=True, help="Do not regenerate requirements.txt."),
        click.option("--no-commit", is_flag=True, help="Leave the changes in the tree, unstaged."),
        click.option("--dry-run", is_flag=True, help="Print the plan as diffs; write nothing."),
        click.option("--yes", "-y", is_flag=True, help="Apply without asking."),
    ]):
        func = option(func)
    return func


@cli.command()
@click.option("--cuda", metavar="V", help="New CUDA version (cuda folders), e.g. 12.8.")
@click.option("--rocm", metavar="V", help="New ROCm version (rocm folders), e.g. 7.1.1.")
@click.option("--torch", metavar="V", help="New PyTorch version (every flavor).")
@click.option("--training-hub", metavar="V", help="New Training Hub version (every flavor).")
@click.option("--python", metavar="V", help="New Python version (every flavor).")
@click.option("--from", "sources", multiple=True, metavar="DIR",
              help="Folder to start from (default: the newest of each affected flavor).")
@click.option("--name", metavar="NEW_DIR_NAME", help="Name of the new folder (one folder only).")
@click.option("--retire", is_flag=True, help="Remove the previous folder in the same commit.")
@click.option("--no-align", is_flag=True,
              help="Bump Training Hub even when it does not resolve with the image.")
@_bump_options
@pass_ctx
def major(ctx: Context, cuda: str | None, rocm: str | None, torch: str | None,
          training_hub: str | None, python: str | None, sources: tuple[str, ...],
          name: str | None, retire: bool, no_align: bool, base_image: str | None,
          index_url: str | None, sets: tuple[str, ...], adds: tuple[str, ...],
          removes: tuple[str, ...], overrides: tuple[str, ...], no_lock: bool, no_commit: bool,
          dry_run: bool, yes: bool) -> None:
    """New folders for a CUDA, ROCm, PyTorch, Training Hub or Python change."""
    from bumper import runner
    from bumper.major import MajorRequest, plan_major

    config = ctx.config()
    request = MajorRequest(cuda=cuda, rocm=rocm, torch=torch, training_hub=training_hub,
                           python=python, sources=sources, name=name, base_image=base_image,
                           index_url=index_url, sets=sets, retire=retire,
                           align=not no_align, adds=adds, removes=removes, overrides=overrides)
    with runner.exclusive(config, dry_run):
        plan = plan_major(config, request)
        runner.run(ctx, config, plan, lock=not no_lock, commit=not no_commit, dry_run=dry_run,
                   yes=yes)


@cli.command()
@click.argument("dirs", nargs=-1)
@click.option("--upgrade", is_flag=True, help="Relock to the newest versions allowed.")
@_bump_options
@pass_ctx
def minor(ctx: Context, dirs: tuple[str, ...], upgrade: bool, base_image: str | None,
          index_url: str | None, sets: tuple[str, ...], adds: tuple[str, ...],
          removes: tuple[str, ...], overrides: tuple[str, ...], no_lock: bool, no_commit: bool,
          dry_run: bool, yes: bool) -> None:
    """Edit folders in place: base image, index URL, constraints, lock refresh, CVE fixes."""
    from bumper import runner
    from bumper.minor import MinorRequest, plan_minor

    config = ctx.config()
    request = MinorRequest(dirs=dirs, base_image=base_image, index_url=index_url, sets=sets,
                           upgrade=upgrade, adds=adds, removes=removes, overrides=overrides)
    with runner.exclusive(config, dry_run):
        plan = plan_minor(config, request)
        runner.run(ctx, config, plan, lock=not no_lock, commit=not no_commit, dry_run=dry_run,
                   yes=yes)


@cli.command("new")
@click.option("--flavor", required=True, metavar="cuda|rocm|cpu", help="Accelerator flavor.")
@click.option("--cuda", metavar="V", help="CUDA version (cuda flavor), e.g. 12.8.")
@click.option("--rocm", metavar="V", help="ROCm version (rocm flavor), e.g. 6.4.3.")
@click.option("--torch", required=True, metavar="V", help="PyTorch version.")
@click.option("--training-hub", required=True, metavar="V", help="Training Hub version.")
@click.option("--python", default="3.12", show_default=True, metavar="V", help="Python version.")
@click.option("--base-image", metavar="REF", help="Base image (default: the template's).")
@click.option("--index-url", metavar="URL",
              help="Package index (default: from release and flavor).")
@click.option("--name", metavar="NEW_DIR_NAME", help="Folder name (default: the naming scheme).")
@click.option("--no-lock", is_flag=True, help="Do not generate requirements.txt.")
@click.option("--no-commit", is_flag=True, help="Leave the new folder in the tree, uncommitted.")
@click.option("--dry-run", is_flag=True, help="Show the files it would create; write nothing.")
@click.option("--yes", "-y", is_flag=True, help="Apply without asking.")
@pass_ctx
def new_folder(ctx: Context, flavor: str, cuda: str | None, rocm: str | None, torch: str,
               training_hub: str, python: str, base_image: str | None, index_url: str | None,
               name: str | None, no_lock: bool, no_commit: bool, dry_run: bool,
               yes: bool) -> None:
    """A new image folder from the Copier template, locked, checked and committed."""
    from bumper import new, runner

    config = ctx.config()
    request = new.NewRequest(flavor=flavor, cuda=cuda, rocm=rocm, torch=torch,
                             training_hub=training_hub, python=python, base_image=base_image,
                             index_url=index_url, name=name)
    scratch = new.scratch_dir()
    try:
        with runner.exclusive(config, dry_run):
            plan = new.plan_new(config, request, scratch)
            if dry_run and ctx.format != "json":
                click.echo(new.render_files(plan), nl=False)
                return
            runner.run(ctx, config, plan, lock=not no_lock, commit=not no_commit,
                       dry_run=dry_run, yes=yes)
    finally:
        new.remove(scratch)


@cli.command("template-update")
@click.argument("dirs", nargs=-1)
@pass_ctx
def template_update(ctx: Context, dirs: tuple[str, ...]) -> None:
    """Bring template changes into folders (copier update); exit 1 on conflicts."""
    from bumper import discover, new, output

    config = ctx.config()
    results = new.template_update(config, discover.resolve(config, dirs), explicit=bool(dirs))
    output.template_results(ctx.format, results)
    sys.exit(1 if any(r.conflicts for r in results) else 0)


@cli.command()
@click.argument("folder", metavar="DIR")
@click.option("--output", type=click.Path(path_type=Path), metavar="PATH",
              help="Write a downstream build context here (default: print the Dockerfile).")
@click.option("--convert", is_flag=True,
              help="Move the folder's Dockerfile from MIDSTREAM ONLY banners to the "
                   "ARG DOWNSTREAM switch (edits it in place; review and commit).")
@pass_ctx
def downstream(ctx: Context, folder: str, output: Path | None, convert: bool) -> None:
    """The downstream variant: banner blocks and .repo files removed, or the DOWNSTREAM
    switch's guarded steps dropped."""
    from bumper import discover
    from bumper import downstream as variant

    config = ctx.config()
    path = discover.resolve(config, (folder,))[0]
    text, notes = variant.run(path, discover.load(config, path).rel, output, convert)
    for note in notes:
        click.echo(note, err=True)
    if text is not None:
        click.echo(text, nl=False)


@cli.command("init")
@click.option("--dry-run", is_flag=True, help="Print what it infers and the diff; write nothing.")
@pass_ctx
def init_settings(ctx: Context, dry_run: bool) -> None:
    """Learn the repo's conventions from its folders and write [tool.bumper]."""
    from bumper import init, output

    inferred = init.infer(ctx.repo())
    output.init_report(inferred, init.render(ctx.repo(), inferred), dry_run=dry_run)


COMPLETION_FILES = {
    "bash": "~/.local/share/bash-completion/completions/bumper",
    "zsh": "~/.zfunc/_bumper",
    "fish": "~/.config/fish/completions/bumper.fish",
}


@cli.command()
@click.argument("shell", type=click.Choice(sorted(COMPLETION_FILES)))
@click.option("--install", is_flag=True, help="Write it where the shell looks for completions.")
def completion(shell: str, install: bool) -> None:
    """Shell completion: print the script, or --install it (one command)."""
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    if cls is None:  # pragma: no cover - click knows the three shells above
        raise UsageError(f"{shell}: no completion support")
    script = cls(cli, {}, "bumper", "_BUMPER_COMPLETE").source()
    if not install:
        click.echo(script)
        return
    target = Path(COMPLETION_FILES[shell]).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(script + "\n", encoding="utf-8")
    click.echo(f"installed {shell} completion in {target}"
               + (" (add ~/.zfunc to fpath before compinit)" if shell == "zsh" else ""), err=True)


def _say(message: str) -> None:
    """The one way an error reaches the user: on stderr, with every known secret scrubbed."""
    from bumper.urls import known_secrets, scrub

    click.echo(scrub(message, known_secrets(sys.argv[1:])), err=True)


def main() -> None:
    try:
        code = cli.main(standalone_mode=False)
    except BumperError as exc:
        _say(f"bumper: error: {exc.message}")
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        import io

        shown = io.StringIO()
        exc.show(file=shown)
        _say(shown.getvalue().rstrip("\n"))
        sys.exit(2)
    except (click.Abort, KeyboardInterrupt):  # Ctrl-C, SIGTERM, SIGHUP (bumper.signals)
        interrupted()
    except PermissionError as exc:  # the environment's, not bumper's: exit 3, the path named
        from bumper.fsutil import permission_error

        error = permission_error(exc, Path.cwd())
        click.echo(f"bumper: error: {error.message}", err=True)
        sys.exit(error.exit_code)
    except Exception as exc:  # a bug: say so in one line; the traceback with -v
        if "-v" in sys.argv or "--verbose" in sys.argv:
            import traceback

            _say(traceback.format_exc().rstrip("\n"))
        else:
            _say(f"bumper: internal error: {type(exc).__name__}: {exc} "
                 "(rerun with -v for the traceback and report it)")
        sys.exit(EXIT_INTERNAL)
    if isinstance(code, int) and code:  # ctx.exit(code) returns it without standalone mode
        sys.exit(code)
