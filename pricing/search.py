"""Free-text search of a pack's catalog, in French, Dutch and English.

Each intervention is indexed once per pack as short phrases (its labels and keywords in the
three languages). A query is normalised (case, accents, punctuation), stripped of stop
words, and its tokens are matched typo-tolerantly against the pack's vocabulary. An
intervention scores by its best phrase (how much of the query the phrase covers and how
much of the phrase the query covers, weighted by how rare each word is in the pack), plus a
little for query words found anywhere in its text.
"""

from __future__ import annotations

import math
import threading
import unicodedata
import weakref
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from pricing.schema import LANGS, ContractPack, Labels

__all__ = ["SearchHit", "normalise", "search_catalog", "tokens"]

# Words that carry no meaning for the catalog. Written without accents (matching happens
# after normalisation) and shared by the three languages: a chat message often mixes them.
_STOP_WORDS_BY_LANG: dict[str, str] = {
    "fr": """
        a ai as au aux avec avez avoir avons bonjour c ca ce cela ces cet cette d dans de des
        depuis du elle elles en es est et etre ete il ils j je l la le les leur leurs m ma
        me merci mes moi mon n ne nos notre nous on ont ou par pas plait plus pour qu que qui
        s sa sans se ses si son sont sous stp suis sur svp t ta te tes toi ton tres tu un une
        vos votre vous y
    """,
    "nl": """
        aan al alstublieft als aub ben bij bedankt dag dan dat de deze die dit door een en er
        graag hallo heb hebben heeft het hij hoi ik in is je jij kan kunnen mag me mij mijn
        moet na naar nog of om ons onze ook op te tot u uit uw van voor was waren we wij wil
        willen wordt worden ze zij zijn
    """,
    "en": """
        a am an and are as at be been being but by can could did do does dont for from had
        has have hello hi i im is it its me my of on or our please since so that the their
        them there these they this those thank thanks to us was we were will with would you
        your
    """,
}
STOP_WORDS: frozenset[str] = frozenset(
    word for words in _STOP_WORDS_BY_LANG.values() for word in words.split()
)

_FUZZY_CUTOFF = 80.0  # rapidfuzz ratio (0-100) below which two words are different
_EXACT_ONLY_BELOW = 4  # short words (ip, vm, ftp, dns) must match exactly
_COMPOUND_MIN = 5  # a word this long may match inside a compound (server ~ webserver)
_OTHER_LANGUAGE = 0.95  # phrase weight when the user's language is known and differs
_PHRASE_SHARE = 0.8  # the rest of the score comes from words found anywhere in the row


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One catalog row matching a free-text query; score from 0 to 100."""

    intervention_id: str
    category_id: str
    labels: Labels
    score: float


def normalise(text: str) -> str:
    """Lower-case ``text``, strip accents and turn punctuation into spaces."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    out = []
    for char in decomposed:
        if unicodedata.combining(char):
            continue
        out.append(char if char.isalnum() else " ")
    return " ".join("".join(out).split())


def tokens(text: str) -> list[str]:
    """The meaningful words of ``text``, normalised, without stop words."""
    return [word for word in normalise(text).split() if word not in STOP_WORDS]


@dataclass(frozen=True, slots=True)
class _Phrase:
    words: tuple[str, ...]
    lang: str


@dataclass(frozen=True, slots=True)
class _Entry:
    intervention_id: str
    category_id: str
    labels: Labels
    phrases: tuple[_Phrase, ...]
    bag: frozenset[str]


@dataclass(frozen=True, slots=True)
class _Index:
    entries: tuple[_Entry, ...]
    vocabulary: tuple[str, ...]
    idf: dict[str, float]
    unknown_idf: float


def _phrases(texts: Iterable[str], lang: str) -> list[_Phrase]:
    found = []
    for text in texts:
        words = tuple(dict.fromkeys(tokens(text)))
        if words:
            found.append(_Phrase(words, lang))
    return found


def _build_index(pack: ContractPack) -> _Index:
    entries = []
    for category in pack.categories:
        for item in category.interventions:
            phrases: list[_Phrase] = []
            for lang in LANGS:
                texts = [item.labels.get(lang), *getattr(item.keywords, lang)]
                phrases.extend(_phrases(texts, lang))
            bag = {word for phrase in phrases for word in phrase.words}
            bag.update(tokens(" ".join(category.labels.get(lang) for lang in LANGS)))
            entries.append(
                _Entry(item.id, category.id, item.labels, tuple(phrases), frozenset(bag))
            )
    document_frequency: dict[str, int] = {}
    for entry in entries:
        for word in entry.bag:
            document_frequency[word] = document_frequency.get(word, 0) + 1
    count = len(entries)
    idf = {word: 1.0 + math.log(count / df) for word, df in document_frequency.items()}
    return _Index(
        entries=tuple(entries),
        vocabulary=tuple(sorted(document_frequency)),
        idf=idf,
        unknown_idf=1.0 + math.log(count),
    )


_INDEXES: dict[int, tuple[weakref.ref[ContractPack], _Index]] = {}
_INDEX_LOCK = threading.Lock()


def _index_for(pack: ContractPack) -> _Index:
    key = id(pack)
    with _INDEX_LOCK:
        cached = _INDEXES.get(key)
        if cached is not None and cached[0]() is pack:
            return cached[1]
        index = _build_index(pack)
        _INDEXES[key] = (weakref.ref(pack, lambda _ref: _INDEXES.pop(key, None)), index)
        return index


def _word_similarity(word: str, index: _Index) -> dict[str, float]:
    """Vocabulary words close to ``word``, with a similarity from 0 to 1."""
    similar: dict[str, float] = {}
    if word in index.idf:
        similar[word] = 1.0
    if len(word) < _EXACT_ONLY_BELOW:
        return similar
    for candidate, score, _ in process.extract(
        word, index.vocabulary, scorer=fuzz.ratio, score_cutoff=_FUZZY_CUTOFF, limit=None
    ):
        if len(candidate) >= _EXACT_ONLY_BELOW and candidate != word:
            # A typo never weighs as much as the exact word.
            similar[candidate] = max(similar.get(candidate, 0.0), 0.95 * score / 100.0)
    if len(word) >= _COMPOUND_MIN:
        for candidate in index.vocabulary:
            if candidate == word or len(candidate) < _COMPOUND_MIN:
                continue
            short, long_ = sorted((word, candidate), key=len)
            if long_.startswith(short) or long_.endswith(short):
                similar[candidate] = max(similar.get(candidate, 0.0), 0.85)
    return similar


def _weighted_cover(weights: dict[str, float], matched: dict[str, float]) -> float:
    total = sum(weights.values())
    if not total:
        return 0.0
    return sum(weight * matched.get(word, 0.0) for word, weight in weights.items()) / total


def search_catalog(
    pack: ContractPack,
    text: str,
    lang: str | None = None,
    limit: int = 5,
    *,
    min_score: float = 20.0,
) -> list[SearchHit]:
    """The catalog rows best matching ``text``, best first (at most ``limit``)."""
    if lang is not None and lang not in LANGS:
        raise ValueError(f"unknown language {lang!r} (use {', '.join(LANGS)})")
    query = list(dict.fromkeys(tokens(text)))
    if not query or limit <= 0:
        return []
    index = _index_for(pack)
    similar = {word: _word_similarity(word, index) for word in query}
    # A query word weighs as much as the rarest pack word it matches.
    query_weights = {
        word: max((index.idf[c] for c in similar[word]), default=index.unknown_idf)
        for word in query
    }
    # Best similarity of each pack word to any query word.
    reach: dict[str, float] = {}
    for matches in similar.values():
        for candidate, score in matches.items():
            reach[candidate] = max(reach.get(candidate, 0.0), score)

    def query_cover(words: Iterable[str]) -> float:
        present = set(words)
        matched = {
            word: max((s for c, s in similar[word].items() if c in present), default=0.0)
            for word in query
        }
        return _weighted_cover(query_weights, matched)

    scored: list[tuple[float, int, _Entry]] = []
    for position, entry in enumerate(index.entries):
        if not any(word in reach for word in entry.bag):
            continue
        best = 0.0
        for phrase in entry.phrases:
            phrase_weights = {word: index.idf[word] for word in phrase.words}
            phrase_cover = _weighted_cover(phrase_weights, reach)
            if not phrase_cover:
                continue
            score = (query_cover(phrase.words) + phrase_cover) / 2
            if lang is not None and phrase.lang != lang:
                score *= _OTHER_LANGUAGE
            best = max(best, score)
        total = 100.0 * (_PHRASE_SHARE * best + (1 - _PHRASE_SHARE) * query_cover(entry.bag))
        if total >= min_score:
            scored.append((round(total, 1), position, entry))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [
        SearchHit(entry.intervention_id, entry.category_id, entry.labels, score)
        for score, _, entry in scored[:limit]
    ]
