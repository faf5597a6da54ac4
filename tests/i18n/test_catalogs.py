"""The gettext catalogs: complete, up to date with the source, and consistent.

* every message of `locales/supportbot.pot` is translated (all plural forms, not fuzzy)
  in the fr, nl and en catalogs, which hold exactly the template's messages;
* the template is what Babel extracts from the source today (else: `make messages`),
  and no gettext call with a literal escapes the extraction;
* every translation keeps its message's placeholders;
* handlers build their replies from translated text only (see `untranslated_literals`);
* the compiled `.mo` catalogs exist and match the `.po` files.
"""

from __future__ import annotations

import ast
import gettext
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

REPO = Path(__file__).resolve().parents[2]
LOCALES = REPO / "locales"
TEMPLATE = LOCALES / "supportbot.pot"
DOMAIN = "supportbot"
LANGUAGES = ("fr", "nl", "en")
SOURCE_DIRS = ("bot", "handlers", "pricing")
# The keywords of `make messages`: Babel's defaults plus `_`, `N_` and `_n:1,2`.
KEYWORDS = {**DEFAULT_KEYWORDS, "_": None, "N_": None, "_n": (1, 2)}
MAKE_HINT = "run `make messages`, then translate the new entries"

MessageKey = tuple[str | tuple[str, ...], str | None]


# --------------------------------------------------------------------------- helpers


@cache
def template() -> Catalog:
    """The translation template."""
    with TEMPLATE.open("rb") as handle:
        return read_po(handle)


@cache
def catalog(lang: str) -> Catalog:
    """The `.po` catalog of one language."""
    with (LOCALES / lang / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as handle:
        return read_po(handle, locale=lang)


def key_of(message: Message) -> MessageKey:
    """A message's identity: its id (a tuple for plurals) and its context."""
    msgid = tuple(message.id) if isinstance(message.id, list | tuple) else message.id
    return msgid, message.context


def messages(cat: Catalog) -> Iterator[Message]:
    """The catalog's active messages, without the header."""
    return (message for message in cat if message.id)


def show(key: MessageKey) -> str:
    """A message key for an error message."""
    msgid, context = key
    text = " | ".join(msgid) if isinstance(msgid, tuple) else msgid
    return f"{context}: {text!r}" if context else repr(text)


def forms(message: Message) -> list[tuple[str, str]]:
    """Each translated form with the source text it translates (singular, then plural)."""
    ids = list(message.id) if isinstance(message.id, list | tuple) else [message.id]
    strings = list(message.string) if isinstance(message.string, list | tuple) else [message.string]
    return [(ids[min(index, len(ids) - 1)], text or "") for index, text in enumerate(strings)]


PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")


def placeholders(text: str) -> list[str]:
    """The printf-style placeholders of a text (`%(name)s`, `%(n)d`, `%%`), sorted."""
    return sorted(PLACEHOLDER.findall(text))


def source_files() -> Iterator[Path]:
    """The Python files of the extracted packages."""
    for directory in SOURCE_DIRS:
        yield from sorted((REPO / directory).rglob("*.py"))


# --------------------------------------------------------------------------- (1) completeness


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalog_holds_exactly_the_template(lang: str) -> None:
    """Every template message is an active entry of the catalog, and nothing else is."""
    wanted = {key_of(message) for message in messages(template())}
    cat = catalog(lang)
    active = {key_of(message) for message in messages(cat)}
    obsolete = {key_of(message) for message in cat.obsolete.values()}
    only_obsolete = sorted(map(show, (wanted - active) & obsolete))
    assert not only_obsolete, f"{lang}: only obsolete (#~) entries for {only_obsolete}; {MAKE_HINT}"
    missing = sorted(map(show, wanted - active))
    assert not missing, f"{lang}: not in the catalog: {missing}; {MAKE_HINT}"
    stale = sorted(map(show, active - wanted))
    assert not stale, f"{lang}: entries no longer in the template: {stale}; {MAKE_HINT}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_entry_is_translated_and_not_fuzzy(lang: str) -> None:
    """Each form of each entry has a translation, and no entry is marked fuzzy."""
    cat = catalog(lang)
    problems: list[str] = []
    for message in messages(cat):
        if message.fuzzy:
            problems.append(f"fuzzy: {show(key_of(message))}")
        translated = forms(message)
        if message.pluralizable and len(translated) != cat.num_plurals:
            problems.append(
                f"{len(translated)} plural forms, {cat.num_plurals} expected: "
                f"{show(key_of(message))}"
            )
        if any(not text.strip() for _source, text in translated):
            problems.append(f"untranslated: {show(key_of(message))}")
    assert not problems, f"{lang}:\n" + "\n".join(problems)


# --------------------------------------------------------------------------- (2) template


def extracted() -> set[MessageKey]:
    """What `make messages` would extract from the source today."""
    with (REPO / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found: set[MessageKey] = set()
    for _filename, _lineno, message, _comments, context in extract_from_dir(
        str(REPO), method_map, options_map, keywords=KEYWORDS
    ):
        msgid = tuple(message) if isinstance(message, list | tuple) else message
        found.add((msgid, context))
    return found


def test_template_is_up_to_date_with_the_source() -> None:
    """The template's messages are exactly those Babel extracts from bot/, handlers/, pricing/."""
    in_template = {key_of(message) for message in messages(template())}
    in_source = extracted()
    new = sorted(map(show, in_source - in_template))
    gone = sorted(map(show, in_template - in_source))
    assert not new, f"new in the source, not in the template: {new}; {MAKE_HINT}"
    assert not gone, f"in the template, no longer in the source: {gone}; {MAKE_HINT}"


GETTEXT_NAMES = frozenset({"_", "N_", "gettext", "ngettext", "_n", "pgettext", "npgettext"})


def gettext_literals(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """The literal first argument of every gettext call, f-strings included."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if name not in GETTEXT_NAMES:
            continue
        index = 1 if name in ("pgettext", "npgettext") else 0
        if len(node.args) > index:
            first = node.args[index]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                yield node.lineno, first.value


def test_no_gettext_call_escapes_extraction() -> None:
    """Every `_("literal")` of the source is in the template.

    Babel's extractor does not look inside f-strings before Python 3.12, so
    `f"• {ctx._('Description')}: {value}"` is translated at run time but never reaches the
    catalogs: such a text stays in English. Translate it before the f-string instead.
    """
    known = {
        msgid[0] if isinstance(msgid, tuple) else msgid
        for msgid, _context in (key_of(message) for message in messages(template()))
    }
    escaped = [
        f"{path.relative_to(REPO)}:{lineno}: {text!r}"
        for path in source_files()
        for lineno, text in gettext_literals(ast.parse(path.read_text(encoding="utf-8")))
        if text and text not in known
    ]
    assert not escaped, "gettext calls missing from the template:\n" + "\n".join(escaped)


# --------------------------------------------------------------------------- (3) placeholders


@pytest.mark.parametrize("lang", LANGUAGES)
def test_translations_keep_the_placeholders(lang: str) -> None:
    """Each translated form has the placeholders of the text it translates."""
    wrong = [
        f"{source!r} -> {text!r}"
        for message in messages(catalog(lang))
        for source, text in forms(message)
        if text and placeholders(text) != placeholders(source)
    ]
    assert not wrong, f"{lang}: placeholders differ:\n" + "\n".join(wrong)


# --------------------------------------------------------------------------- (4) literals

REPLY_CONSTRUCTORS = frozenset({"Text", "Prompt", "Choices", "Confirm"})
LABEL_BUILDERS = frozenset({"Option", "option"})
TRANSLATORS = frozenset({"_", "gettext", "ngettext", "pgettext", "npgettext"})
LIST_METHODS = frozenset({"append", "extend", "insert"})
WORD = re.compile(r"[^\W\d_][\w'’-]*[.,:;!?]?")
MIN_WORDS = 3


def is_prose(text: str) -> bool:
    """Whether a literal reads as a sentence: at least three words of letters.

    Tokens are split on whitespace; a word is a token of letters (apostrophes, hyphens and
    a trailing punctuation mark allowed) that is not all capitals. Command syntax therefore
    does not count: `/tickets [all|closed] — ` or `/comment REF ` have no words.
    """
    words = [
        token
        for token in text.split()
        if WORD.fullmatch(token) and not token.rstrip(".,:;!?").isupper()
    ]
    return len(words) >= MIN_WORDS


def _called_name(node: ast.Call) -> str | None:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _assigned_value(node: ast.AST, name: str) -> ast.expr | None:
    """The value `node` assigns to the local `name` (`=`, annotated `=`, `+=`), if any."""
    if isinstance(node, ast.Assign) and any(
        isinstance(target, ast.Name) and target.id == name for target in node.targets
    ):
        return node.value
    if (
        isinstance(node, ast.AnnAssign | ast.AugAssign)
        and isinstance(node.target, ast.Name)
        and node.target.id == name
    ):
        return node.value
    return None


class LiteralFinder:
    """Finds prose literals that flow into a reply's text within one function."""

    def __init__(self, scope: ast.AST) -> None:
        self.scope = scope

    def _sources_of(self, name: str) -> Iterator[ast.expr]:
        """What a local name is built from: assignments and list appends in the scope."""
        for node in ast.walk(self.scope):
            value = _assigned_value(node, name)
            if value is not None:
                yield value
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in LIST_METHODS
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == name
            ):
                yield from node.args

    def find(self, node: ast.expr | None, seen: frozenset[str] = frozenset()) -> Iterator[ast.expr]:
        """Prose literals that `node` puts into the text, outside any gettext call."""
        if node is None:
            return
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str) and is_prose(node.value):
                yield node
        elif isinstance(node, ast.JoinedStr):
            for part in node.values:
                if isinstance(part, ast.FormattedValue):
                    yield from self.find(part.value, seen)
                else:
                    yield from self.find(part, seen)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
            yield from self.find(node.left, seen)
            right = node.right
            if isinstance(node.op, ast.Mod) and isinstance(right, ast.Dict):
                for value in right.values:
                    yield from self.find(value, seen)
            elif isinstance(node.op, ast.Mod) and isinstance(right, ast.Tuple):
                for element in right.elts:
                    yield from self.find(element, seen)
            else:
                yield from self.find(right, seen)
        elif isinstance(node, ast.IfExp):
            yield from self.find(node.body, seen)
            yield from self.find(node.orelse, seen)
        elif isinstance(node, ast.List | ast.Tuple):
            for element in node.elts:
                yield from self.find(element, seen)
        elif isinstance(node, ast.ListComp | ast.GeneratorExp):
            yield from self.find(node.elt, seen)
        elif isinstance(node, ast.Starred):
            yield from self.find(node.value, seen)
        elif isinstance(node, ast.Name) and node.id not in seen:
            for source in self._sources_of(node.id):
                yield from self.find(source, seen | {node.id})
        elif isinstance(node, ast.Call):
            name = _called_name(node)
            if name in TRANSLATORS:
                return  # translated: whatever it holds is in the catalogs
            if name == "join" and isinstance(node.func, ast.Attribute):
                yield from self.find(node.func.value, seen)
                for argument in node.args:
                    yield from self.find(argument, seen)
            # Any other call (a pack label, a formatter) is not a literal of this module.


def _text_argument(node: ast.Call) -> ast.expr | None:
    """The text a reply constructor or label builder receives (first argument or keyword)."""
    name = _called_name(node)
    keyword = "text" if name in REPLY_CONSTRUCTORS else "label"
    if node.args:
        return node.args[0]
    return next((k.value for k in node.keywords if k.arg == keyword), None)


def untranslated_literals(source: str) -> list[tuple[int, str]]:
    """Prose literals that reach a reply without going through gettext.

    The rule: the text given to a reply constructor (`Text`, `Prompt`, `Choices`, `Confirm`,
    first argument or `text=`) or to a button label (`Option`, `ctx.option`, first argument
    or `label=`) must not contain a string literal of three or more words (see `is_prose`)
    unless that literal is the argument of a gettext call (`_(`, `ctx._(`, `t.gettext(`,
    `.gettext(`, `.ngettext(`…). The text is followed through `+`, `%` (template and values),
    f-strings (their literal parts and their `{…}` expressions), conditional expressions,
    `sep.join(…)`, and local names (their assignments and `.append`/`.extend`/`.insert`
    calls in the same function). Literals without three words (`"• "`, `"/new — "`,
    `f"• {label}: {value}"`) and values coming from other calls (pack labels, formatted
    dates and amounts) are allowed.
    """
    tree = ast.parse(source)
    found: set[tuple[int, str]] = set()
    for scope, calls in _calls_by_scope(tree).items():
        finder = LiteralFinder(scope)
        for call in calls:
            for literal in finder.find(_text_argument(call)):
                assert isinstance(literal, ast.Constant)
                found.add((literal.lineno, str(literal.value)))
    return sorted(found)


def _calls_by_scope(tree: ast.Module) -> dict[ast.AST, list[ast.Call]]:
    """The reply and label calls, grouped by their innermost function (or the module)."""
    grouped: dict[ast.AST, list[ast.Call]] = {}

    def visit(node: ast.AST, scope: ast.AST) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            scope = node
        if isinstance(node, ast.Call) and _called_name(node) in REPLY_CONSTRUCTORS | LABEL_BUILDERS:
            grouped.setdefault(scope, []).append(node)
        for child in ast.iter_child_nodes(node):
            visit(child, scope)

    visit(tree, tree)
    return grouped


@pytest.mark.parametrize(
    ("snippet", "flagged"),
    [
        ('Text("Nothing to cancel here.")', True),
        ('Text(text="Please try again later.")', True),
        ('Prompt("Describe the request: what, where.", options=())', True),
        ('ctx.say(Text("Your ticket is " + ctx._("open")))', True),
        ('Text(f"Ticket {ref} is closed now.")', True),
        ('Text("Ticket %(ref)s is closed." % {"ref": ref})', True),
        ('Text(ctx._("Ticket %(ref)s: %(x)s") % {"ref": ref, "x": "was not found"})', True),
        (
            'def f(ctx):\n    lines = ["Please check this:"]\n    ctx.say(Text("\\n".join(lines)))',
            True,
        ),
        ('def f(ctx):\n    t = "Pick one of these"\n    ctx.say(Choices(t, ()))', True),
        ('ctx.option("Describe it myself", "x")', True),
        ('Text(ctx._("Nothing to cancel here."))', False),
        ('Text(t.gettext("Please try again later."))', False),
        ('Text(f"• {label}: {value}")', False),
        ('Text(f"☎ {phone.message.get(lang)} {number}")', False),
        ('Text("/tickets [all|closed] — " + _("your tickets"))', False),
        ('Text("/comment REF " + _("text") + " — " + _("add a message"))', False),
        ('Text(ctx._("%(n)s items") % {"n": 3})', False),
        ('ctx.option("« " + ctx._("Back"), NAV_BACK)', False),
        ('Text(pack.title.get("fr"))', False),
        ('log.info("refused: %s and more words", exc)', False),
    ],
)
def test_literal_rule(snippet: str, flagged: bool) -> None:
    """The rule flags prose that bypasses gettext and lets assembled translations through."""
    assert bool(untranslated_literals(snippet)) is flagged


def test_handlers_build_replies_from_translated_text() -> None:
    """No handler shows a user a sentence that is not in the catalogs."""
    found = [
        f"{path.relative_to(REPO)}:{lineno}: {text!r}"
        for path in sorted((REPO / "handlers").rglob("*.py"))
        for lineno, text in untranslated_literals(path.read_text(encoding="utf-8"))
    ]
    assert not found, "user-facing text outside gettext (wrap it in ctx._):\n" + "\n".join(found)


# --------------------------------------------------------------------------- (5) compiled


@pytest.mark.parametrize("lang", LANGUAGES)
def test_compiled_catalog_exists_and_matches(lang: str) -> None:
    """The `.mo` file exists and gives each `.po` translation (else: `make translations`)."""
    path = LOCALES / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"
    assert path.is_file(), f"{path.relative_to(REPO)} missing: run `make translations`"
    with path.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = []
    for message in messages(catalog(lang)):
        if message.fuzzy or message.context:
            continue
        strings = [text for _source, text in forms(message)]
        if isinstance(message.id, list | tuple):
            counts = (1, 2, 5)
            got = [compiled.ngettext(message.id[0], message.id[1], n) for n in counts]
            plural = gettext.c2py(catalog(lang).plural_expr)
            want = [strings[plural(n)] for n in counts]
        else:
            got, want = [compiled.gettext(message.id)], strings
        if got != want:
            stale.append(show(key_of(message)))
    assert not stale, (
        f"{path.relative_to(REPO)} does not match the .po file (run `make translations`): {stale}"
    )
