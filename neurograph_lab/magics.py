"""IPython line magics: ``%ng_status``, ``%ng_tokens``, ``%ng_query``, ``%ng_neighbors``,
``%ng_path``, ``%ng_cdna``, ``%ng_bootstrap``, ``%ng_save``, ``%ng_load``, ``%ng_metrics``,
``%ng_events``, ``%ng_serve`` and ``%ng_use``.

Every magic takes ``--help`` / ``-h`` (also ``%ng_x?``) and ``-o NAME`` to keep the result
in a variable; results can also be captured (``df = %ng_tokens``). Usage errors raise
IPython's ``UsageError`` with one line and a "did you mean" where one helps.
"""

from __future__ import annotations

import difflib
import shlex
from typing import Any, Callable, Optional

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.display import display

from ._args import space_name
from ._explore_lang import ExploreError, run_explore
from ._names import CDNA_PROFILES, ENTITY_TYPES, SPACES
from .errors import NeuroGraphError, ValidationError
from .runtime import Runtime
from .server import serve, served

__all__ = ["NeuroGraphMagics"]


def _did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=3, cutoff=0.5)
    return f" (did you mean {', '.join(close)}?)" if close else ""


@magics_class
class NeuroGraphMagics(Magics):
    """The %ng_* magics, acting on the runtime bound to ``ng_rt`` (see ``%ng_use``)."""

    def __init__(self, shell: Any, rt_name: str = "ng_rt") -> None:
        super().__init__(shell)
        self.rt_name = rt_name

    # -- completion --
    def complete(self, text: str) -> list[str]:
        """IPython matcher: flags of the %ng_* magic being typed, space names after
        --space, profiles after --profile, and token labels where a token is expected."""
        completer = getattr(self.shell, "Completer", None)
        line = getattr(completer, "text_until_cursor", "") or ""
        stripped = line.lstrip()
        if not stripped.startswith(("%ng_", "%%ng_")):
            return []
        words = stripped.split()
        name = words[0].lstrip("%")
        func = getattr(self, name, None)
        parser = getattr(func, "parser", None)
        if parser is None:
            return []
        before = words[-2] if text and len(words) >= 2 else (words[-1] if not text and words else "")
        if before in ("--space",):
            return [s for s in (*SPACES, "all") if s.startswith(text)]
        if before == "--profile":
            return [p for p in CDNA_PROFILES if p.startswith(text)]
        if text.startswith("-"):
            flags = [o for a in parser._actions for o in a.option_strings]
            return sorted(f for f in flags if f.startswith(text))
        if name in ("ng_neighbors", "ng_path") and len(text) >= 1:
            rt = self.ns.get(self.rt_name)
            if isinstance(rt, Runtime):
                labels = rt.tokens.to_pandas(limit=200_000)["label"].dropna().astype(str)
                return sorted(labels[labels.str.startswith(text)].unique().tolist())[:50]
        return []

    # -- helpers --
    @property
    def ns(self) -> dict[str, Any]:
        """The user namespace of the shell these magics live in."""
        if self.shell is None:
            raise UsageError("the neurograph_lab magics are not attached to an IPython shell")
        ns: dict[str, Any] = self.shell.user_ns
        return ns

    @property
    def rt(self) -> Runtime:
        """The Runtime the magics act on (``ng_rt`` unless ``%ng_use`` named another)."""
        rt = self.ns.get(self.rt_name)
        if not isinstance(rt, Runtime):
            raise UsageError(f"{self.rt_name} is not a neurograph_lab Runtime; use %ng_use VAR to pick one")
        return rt

    def _args(self, func: Callable[..., Any], line: str) -> Optional[Any]:
        """Parse a magic line; None (usage printed) for --help/-h."""
        try:
            words = shlex.split(line)
        except ValueError as e:
            hint = ""
            if "quotation" in str(e):
                hint = """ (put a word holding a quote mark in the other quotes: %ng_query "'s")"""
            raise UsageError(f"cannot read the arguments: {e}{hint}") from None
        if "--help" in words or "-h" in words:
            print(func.__doc__)
            return None
        try:
            return func.parser.parse_args(words)  # type: ignore[attr-defined]
        except UsageError as e:
            msg = str(e)
            flags = [o for a in func.parser._actions for o in a.option_strings]  # type: ignore[attr-defined]
            extra = ""
            if "unrecognized arguments" in msg:
                bad = [w for w in words if w.startswith("-")]
                extra = "".join(_did_you_mean(b, flags) for b in bad[:1])
            raise UsageError(msg.splitlines()[-1] + extra) from None

    def _space(self, name: Optional[str]) -> Optional[str]:
        if name is None:
            return None
        try:
            return space_name(name)
        except ValidationError:
            raise UsageError(f"unknown space {name!r}{_did_you_mean(name.lower(), list(SPACES))}") from None

    def _token(self, ref: str) -> int:
        """A token named on a magic line. ``#N`` is always the token id N. Otherwise the token
        labelled ``ref`` (a bootstrap word is its token's label, so the word ``2024`` is found
        by its text); only when no token has that label is a number read as a token id."""
        if ref[:1] == "#" and ref[1:].isascii() and ref[1:].isdigit():
            return int(ref[1:])
        ids = self.rt.tokens.find(ref)
        if len(ids):
            return int(ids[0])
        if ref.isascii() and ref.isdigit():
            return int(ref)
        labels = self.rt.tokens.to_pandas(limit=100_000)["label"].dropna().astype(str).tolist()
        raise UsageError(f"no token labelled {ref!r}{_did_you_mean(ref, labels)}")

    def _out(self, args: Any, value: Any) -> Any:
        if getattr(args, "o", None):
            self.ns[args.o] = value
        return value

    def _run(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except NeuroGraphError as e:
            raise UsageError(str(e)) from None

    # -- magics --
    @magic_arguments()
    @argument("-o", metavar="NAME", help="store the result in this variable")
    @line_magic
    def ng_status(self, line: str = "") -> Any:
        """Counts, CDNA profile, Guardian figures and memory of the runtime."""
        args = self._args(self.ng_status, line)
        if args is None:
            return None
        return self._out(args, self.rt.status())

    @magic_arguments()
    @argument("--limit", type=int, default=20, help="rows to show (default 20)")
    @argument("--offset", type=int, default=0, help="first row")
    @argument("--space", help="show only this space's coordinates (name, L1..L8)")
    @argument("--entity", help="keep tokens of this entity type")
    @argument("--sort", metavar="COL", help="sort by this column")
    @argument("--desc", action="store_true", help="sort descending")
    @argument("--where", metavar="EXPR", help="pandas query, e.g. 'weight > 0.5'")
    @argument("-o", metavar="NAME", help="store the result in this variable")
    @line_magic
    def ng_tokens(self, line: str = "") -> Any:
        """Tokens as a DataFrame (one row per token, index: id)."""
        args = self._args(self.ng_tokens, line)
        if args is None:
            return None
        if args.limit < 0 or args.offset < 0:
            raise UsageError("--limit and --offset must be >= 0")
        filtering = bool(args.entity or args.where or args.sort)
        df = self.rt.tokens.to_pandas(limit=None if filtering else args.limit, offset=0 if filtering else args.offset)
        space = self._space(args.space)
        if space:
            base = ["label", "entity", "weight"]
            df = df[base + [f"{space}_{a}" for a in "xyz"]]
        if args.entity:
            if args.entity not in ENTITY_TYPES:
                raise UsageError(f"unknown entity type {args.entity!r}{_did_you_mean(args.entity, list(ENTITY_TYPES))}")
            df = df[df["entity"] == args.entity]
        if args.where:
            try:
                df = df.query(args.where)
            except Exception as e:  # pandas raises many kinds
                raise UsageError(f"--where {args.where!r}: {e}") from None
        if args.sort:
            if args.sort not in df.columns and args.sort != "id":
                raise UsageError(f"no column {args.sort!r}{_did_you_mean(args.sort, list(df.columns))}")
            df = (
                df.sort_index(ascending=not args.desc)
                if args.sort == "id"
                else df.sort_values(args.sort, ascending=not args.desc)
            )
        if filtering:
            df = df.iloc[args.offset : args.offset + args.limit]
        return self._out(args, df)

    @magic_arguments()
    @argument("text", nargs="+", help="words, 'a - b + c', as one quoted string or several")
    @argument("-k", type=int, default=10, help="results (default 10)")
    @argument("-o", metavar="NAME", help="store the result in this variable")
    @line_magic
    def ng_query(self, line: str = "") -> Any:
        """Words most similar to the text by cosine in the embedding space (needs a bootstrap).

        A text that is a vocabulary word as a whole is that word, even one that looks like an
        operator: %ng_query - finds the word "-". Otherwise a lone + or - between words is an
        operator (%ng_query king - man + woman). Quote a word holding a quote mark
        (%ng_query "'s"), and put -- before a word starting with - (%ng_query -- -lrb-).
        """
        args = self._args(self.ng_query, line)
        if args is None:
            return None
        return self._out(args, self._run(lambda: self.rt.query(" ".join(args.text), k=args.k)))

    @magic_arguments()
    @argument("token", help="a token label (a bootstrap word), or #ID for a token id")
    @argument("-k", type=int, default=10, help="neighbours (default 10)")
    @argument("--space", default="cognitive", help="space (default cognitive), or 'all'")
    @argument("-o", metavar="NAME", help="store the result in this variable")
    @line_magic
    def ng_neighbors(self, line: str = "") -> Any:
        """The k nearest tokens to a token in one space.

        The token is named by its label (a bootstrap word is its token's label): %ng_neighbors
        2024 is the token labelled "2024" when there is one. #ID always means a token id
        (%ng_neighbors #2024); a bare number is read as an id only when no token has it as
        its label.
        """
        args = self._args(self.ng_neighbors, line)
        if args is None:
            return None
        space = "all" if args.space.strip().lower() == "all" else (self._space(args.space) or "cognitive")
        tid = self._token(args.token)
        return self._out(args, self._run(lambda: self.rt.grid.neighbors(tid, k=args.k, space=space)))

    @magic_arguments()
    @argument("a", help="start: token label, or #ID for a token id")
    @argument("b", help="end: token label, or #ID for a token id")
    @argument("--weight", default="strength", choices=["strength", "distance", "hops"], help="cost of a connection")
    @argument("-o", metavar="NAME", help="store the result in this variable")
    @line_magic
    def ng_path(self, line: str = "") -> Any:
        """The cheapest path between two tokens along connections.

        Tokens are named as in %ng_neighbors: a label, or #ID for a token id (a bare number is
        an id only when no token has it as its label).
        """
        args = self._args(self.ng_path, line)
        if args is None:
            return None
        a, b = self._token(args.a), self._token(args.b)
        return self._out(args, self._run(lambda: self.rt.graph.shortest_path(a, b, weight=args.weight)))

    @magic_arguments()
    @argument("--profile", help="switch profile: default, explorer, analyst, creative")
    @argument("--scale", nargs="+", metavar="SPACE=VALUE", help="set per-space scales")
    @argument("-o", metavar="NAME", help="store the result in this variable")
    @line_magic
    def ng_cdna(self, line: str = "") -> Any:
        """Show the CDNA, or change its profile or scales (through the Guardian)."""
        args = self._args(self.ng_cdna, line)
        if args is None:
            return None
        rt = self.rt
        if args.profile:
            if args.profile not in CDNA_PROFILES:
                raise UsageError(f"unknown profile {args.profile!r}{_did_you_mean(args.profile, list(CDNA_PROFILES))}")
            self._run(lambda: setattr(rt.cdna, "profile", args.profile))
        if args.scale:
            scales: dict[str, float] = {}
            for item in args.scale:
                name, _, value = item.partition("=")
                try:
                    scales[self._space(name) or name] = float(value)
                except ValueError:
                    raise UsageError(f"--scale wants SPACE=VALUE, got {item!r}") from None
            self._run(lambda: rt.cdna.update_scales(scales))
        return self._out(args, rt.cdna)

    @magic_arguments()
    @argument("path", help="embedding file (.vec, .txt, .bin, .npy with --words)")
    @argument("--words", help="vocabulary file for a .npy matrix")
    @argument("-k", type=int, default=10, help="neighbours woven per word (default 10)")
    @argument(
        "--space",
        nargs="+",
        default=["auto"],
        help="target spaces, or auto (default): successive principal-axis triples in as many spaces as the data "
        "allows, abstract first (see rt.bootstrap)",
    )
    @argument("--max-words", type=int, help="read at most this many words")
    @argument(
        "--errors",
        choices=["raise", "skip"],
        default="raise",
        help="a bad line (invalid UTF-8 word, wrong number of values): raise (default) or skip and count it",
    )
    @argument("--replace", action="store_true", help="replace an earlier bootstrap")
    @argument("-o", metavar="NAME", help="store the report in this variable")
    @line_magic
    def ng_bootstrap(self, line: str = "") -> Any:
        """Place words from an embedding file in the spaces and weave their neighbours."""
        args = self._args(self.ng_bootstrap, line)
        if args is None:
            return None
        auto = [s.lower() for s in args.space] == ["auto"]
        spaces: Any = "auto" if auto else [self._space(s) for s in args.space]
        try:
            report = self.rt.bootstrap(
                args.path,
                args.words,
                space=spaces,
                k=args.k,
                max_words=args.max_words,
                errors=args.errors,
                replace=args.replace,
            )
        except ValidationError as e:
            problem = getattr(e, "problem", None)
            if problem is not None:  # a bad line: say how to skip such lines, as a magic
                raise UsageError(f"{problem}; to skip such lines (they are counted), add --errors skip") from None
            raise UsageError(str(e)) from None
        except NeuroGraphError as e:
            raise UsageError(str(e)) from None
        return self._out(args, report)

    @magic_arguments()
    @argument("path", help="file to write")
    @line_magic
    def ng_save(self, line: str = "") -> None:
        """Save the runtime to a snapshot file (atomic)."""
        args = self._args(self.ng_save, line)
        if args is None:
            return None
        self._run(lambda: self.rt.save(args.path))
        print(f"saved {len(self.rt.tokens):,} tokens and {len(self.rt.connections):,} connections to {args.path}")
        return None

    @magic_arguments()
    @argument("path", help="snapshot file to read")
    @line_magic
    def ng_load(self, line: str = "") -> Any:
        """Load a snapshot into a new runtime bound to the current name (ng_rt)."""
        args = self._args(self.ng_load, line)
        if args is None:
            return None
        rt = self._run(lambda: Runtime.load(args.path))
        self.ns[self.rt_name] = rt
        return rt.status()

    @magic_arguments()
    @line_magic
    def ng_metrics(self, line: str = "") -> None:
        """Print the Prometheus metrics text."""
        if self._args(self.ng_metrics, line) is None:
            return None
        print(self.rt.metrics())
        return None

    @magic_arguments()
    @argument("--last", type=int, help="only the newest N events")
    @argument("-o", metavar="NAME", help="store the result in this variable")
    @line_magic
    def ng_events(self, line: str = "") -> Any:
        """What the Guardian accepted and refused, as a DataFrame."""
        args = self._args(self.ng_events, line)
        if args is None:
            return None
        return self._out(args, self._run(lambda: self.rt.events(last=args.last)))

    @magic_arguments()
    @argument("--out", metavar="NAME", help="bind the final selection to this name")
    @argument("--space", default="cognitive", help="space for near/within without 'in' (default cognitive)")
    @cell_magic
    def ng_explore(self, line: str = "", cell: str = "") -> Any:
        """Explore with a small language, one step a line (see neurograph_lab._explore_lang):

        query "text" k=20 | near <label|id> k=10 in <space> | within <label|id|x,y,z> radius=R in <space>
        expand depth=2 kinds=cause,temporal | filter <pandas expr> | path <a> -> <b>
        union <name> | intersect <name> | communities [leiden|louvain] resolution=R seed=S
        show table|plot|grid|graph (coloured by community after a communities step) | as <name>
        (# starts a comment)
        """
        args = self._args(self.ng_explore, line)
        if args is None:
            return None
        space = self._space(args.space) or "cognitive"
        try:
            result = run_explore(self.rt, cell, self.ns, space=space)
        except ExploreError as e:
            raise UsageError(str(e)) from None
        if args.out:
            self.ns[args.out] = result
        if result.view != "table" and len(result):
            display(result.explorer() if result.view in ("grid", "graph") else result.figure())
        return result

    @magic_arguments()
    @argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    @argument("--port", type=int, default=0, help="port (default 0: a free one)")
    @argument("--allow-remote", action="store_true", help="allow a --host other machines can reach")
    @argument("--stop", action="store_true", help="stop the runtime's server")
    @argument("-o", metavar="NAME", help="store the Server in this variable")
    @line_magic
    def ng_serve(self, line: str = "") -> Any:
        """Serve the runtime over HTTP while you keep working: REST API under /api/v1, docs at
        /docs, live events on /api/v1/ws (see ng.serve).

        Shows the server; keep it with -o srv to reach srv.api_key (the admin key for scripts),
        srv.login_url (a one-time browser link), srv.keys and srv.users. A runtime has one
        server: %ng_serve again shows it (or restarts it on another --host/--port); --stop
        stops it.
        """
        args = self._args(self.ng_serve, line)
        if args is None:
            return None
        rt = self.rt
        running = served(rt)
        if args.stop:
            if running is None:
                print(f"no server is running for {self.rt_name}")
            else:
                running.stop()
                print(f"stopped the server at {running.url}")
            return None
        if not 0 <= args.port <= 65535:
            raise UsageError(f"--port must be 0..65535, got {args.port}")
        if running is not None and running.host == args.host and args.port in (0, running.port):
            return self._out(args, running)
        try:
            srv = serve(rt, args.host, args.port, allow_remote=args.allow_remote)
        except PermissionError as e:
            raise UsageError(f"{e} (--allow-remote)") from None
        except OSError as e:
            raise UsageError(str(e)) from None
        return self._out(args, srv)

    @magic_arguments()
    @argument("var", help="name of a Runtime in the namespace")
    @line_magic
    def ng_use(self, line: str = "") -> None:
        """Point the magics at another Runtime variable."""
        args = self._args(self.ng_use, line)
        if args is None:
            return None
        value = self.ns.get(args.var)
        if not isinstance(value, Runtime):
            names = [k for k, v in self.ns.items() if isinstance(v, Runtime)]
            raise UsageError(f"{args.var!r} is not a neurograph_lab Runtime{_did_you_mean(args.var, names)}")
        self.rt_name = args.var
        return None
