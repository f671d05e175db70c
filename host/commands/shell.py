"""What every command shares: the two consoles, settings, and one-line errors.

A user error (a bad setting, an unreachable database, a missing optional extra) is printed
as one line that names the setting or file and what to do, and the command exits 1. A
traceback is kept for what is not the user's to fix: a bug.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, NoReturn, TypeVar, get_args

import typer
from pydantic import SecretStr, ValidationError
from rich.console import Console
from rich.markup import escape
from sqlalchemy.exc import ArgumentError, OperationalError

from host.config import Settings
from host.errors import HostError

console = Console(stderr=True)
out = Console()

F = TypeVar("F", bound=Callable[..., Any])

# The optional extras (pyproject.toml), the modules they bring, and what asks for them.
EXTRAS: dict[str, tuple[frozenset[str], str]] = {
    "llm": (
        frozenset({"langchain_openai", "langchain_core", "langchain"}),
        "OPENAI_BASE_URL, OPENAI_API_KEY or RESPONDER=llm",
    ),
    "coqui": (frozenset({"TTS", "torch", "torchaudio", "torchcodec"}), "VOICE_EN/VOICE_ZH=coqui"),
    "web": (frozenset({"fastapi", "uvicorn", "starlette", "multipart"}), "host serve"),
    "cluster": (frozenset({"ray", "redis"}), "--cluster, RAY_ADDRESS, REDIS_URL or host pool"),
}
_HIDDEN = frozenset({"database_url"})  # may hold a password; SecretStr fields are hidden too


class SettingError(HostError):
    """A setting from the environment or `.env` that does not parse."""


def one_line_errors(fn: F) -> F:
    """Show user errors as one line and exit non-zero, never as a traceback."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except HostError as exc:
            fail(str(exc))
        except ValidationError as exc:  # Settings built directly, not through load_settings
            fail(settings_problem(exc))
        except (OperationalError, ArgumentError) as exc:
            fail(database_problem(exc))
        except ModuleNotFoundError as exc:
            fail(missing_module(exc.name or str(exc)))
        except KeyboardInterrupt:
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def fail(message: str) -> NoReturn:
    """Print `message` as one line on stderr and exit 1."""
    line = " ".join(message.split())
    console.print(f"[red]error:[/red] {escape(line)}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def load_settings() -> Settings:
    """Settings from the environment and `.env`; a bad value names its variable."""
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingError(settings_problem(exc)) from None


def settings_problem(exc: ValidationError) -> str:
    """ "FPS=abc: Input should be a valid integer ..." for each bad setting, on one line."""
    problems = []
    for error in exc.errors(include_url=False):
        field = str(error["loc"][0]) if error["loc"] else ""
        if not field:
            problems.append(error["msg"])
            continue
        shown = "***" if _hidden(field) else repr(error.get("input"))
        problems.append(f"{field.upper()}={shown}: {error['msg']}")
    return "; ".join(problems) + " (fix it in the environment or in .env)"


def _hidden(field: str) -> bool:
    info = Settings.model_fields.get(field)
    kinds = (info.annotation, *get_args(info.annotation)) if info is not None else ()
    return field in _HIDDEN or SecretStr in kinds


def database_problem(exc: OperationalError | ArgumentError) -> str:
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    if isinstance(exc, ArgumentError):
        return f"DATABASE_URL is not a database URL SQLAlchemy can use: {reason}"
    return (
        f"the database at DATABASE_URL cannot be used: {reason} "
        "(start the server, or point DATABASE_URL at one that runs; then host db upgrade)"
    )


def missing_module(name: str) -> str:
    top = name.split(".")[0]
    for extra, (modules, wanted_by) in EXTRAS.items():
        if top in modules:
            return (
                f"{wanted_by} needs the '{extra}' extra, which is not installed: "
                f"pip install -e '.[{extra}]' (module {top} is missing)"
            )
    return f"the Python module {top} is missing: reinstall with make setup"
