"""`sentiment`: synthetic tokenised movie reviews where negation flips the meaning.

"the plot was not good" is negative, "the acting was not bad" is positive. Reviews with two clauses
can hold the very same words with opposite labels ("good and not bad" vs "not good and bad"), so a
bag of words is not enough: the model has to look at which word a "not" precedes.
"""
import numpy as np

from builder import ParamSpec
from trainers.datasets.bundle import DatasetEntry, DatasetInfo, Samples

LENGTH = 16
PAD = "<pad>"
POSITIVE = ("good great excellent wonderful amazing brilliant lovely fun enjoyable beautiful "
            "superb perfect charming delightful fantastic").split()
NEGATIVE = ("bad awful terrible boring dull poor horrible weak mediocre disappointing annoying "
            "messy bland painful forgettable").split()
NEGATORS = "not never hardly barely".split()
INTENSIFIERS = "very really so quite truly".split()
SUBJECTS = ("movie film story plot acting music ending cast director script scenes dialogue "
            "characters camera effects soundtrack actors show pacing humour").split()
DETERMINERS = "the this that my our their your every his her".split()
ADVERBS = "honestly overall sadly luckily frankly".split()  # may open a clause
VERBS = "was is were felt seemed looked sounded".split()
TAILS = [tail.split() for tail in ("at the cinema", "with a friend", "for two hours", "last night",
                                   "in the first half", "on the big screen", "on a sunday")]
WORDS = [PAD, *POSITIVE, *NEGATIVE, *NEGATORS, *INTENSIFIERS, *SUBJECTS, *DETERMINERS, *ADVERBS,
         *VERBS, "and", *dict.fromkeys(w for tail in TAILS for w in tail if w not in DETERMINERS)]
VOCAB = dict(enumerate(WORDS))  # token id -> word; 0 is padding
TOKEN = {word: index for index, word in VOCAB.items()}
assert len(WORDS) == len(TOKEN) == 100, "the vocabulary must hold exactly 100 distinct words"


def _pick(words: list, rng: np.random.Generator):
    return words[rng.integers(len(words))]


def _clause(sign: int, negation: float, rng: np.random.Generator) -> list[str]:
    """Words of one clause whose meaning has the given sign (+1 positive, -1 negative):
    [adverb] determiner subject verb [negator] [intensifier] adjective, at most 7 words."""
    negated = rng.random() < negation
    adjectives = POSITIVE if sign * (-1 if negated else 1) > 0 else NEGATIVE
    words = [_pick(ADVERBS, rng)] if rng.random() < 0.2 else []
    words += [_pick(DETERMINERS, rng), _pick(SUBJECTS, rng), _pick(VERBS, rng)]
    if negated:
        words.append(_pick(NEGATORS, rng))
    if rng.random() < 0.3:
        words.append(_pick(INTENSIFIERS, rng))
    return [*words, _pick(adjectives, rng)]


def _review(sign: int, negation: float, rng: np.random.Generator) -> list[str]:
    words = _clause(sign, negation, rng)
    if rng.random() < 0.5:  # a second clause agreeing with the first: at most 7 + 1 + 7 words
        words += ["and", *_clause(sign, negation, rng)]
    tail = _pick(TAILS, rng)
    if rng.random() < 0.3 and len(words) + len(tail) <= LENGTH:  # neutral words, for realism
        words += tail
    return words


def make_sentiment(*, seed: int, n_samples: int, negation: float) -> Samples:
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n_samples) % 2)  # 0 negative, 1 positive; balanced
    tokens = np.zeros((n_samples, LENGTH), dtype=np.int64)
    for row, label in enumerate(labels):
        ids = [TOKEN[word] for word in _review(1 if label else -1, negation, rng)]
        tokens[row, LENGTH - len(ids):] = ids  # pad on the left, so the last step is a real word
    return Samples(tokens, labels.astype(np.int64), class_names=["negative", "positive"],
                   vocab=VOCAB)


def decode(token_ids, vocab: dict[int, str]) -> str:
    """Words of one sequence of token ids, padding left out."""
    return " ".join(vocab.get(int(i), "?") for i in token_ids if int(i) != 0)


ENTRIES = (
    DatasetEntry(DatasetInfo(
        "sentiment", "Sentiment (toy reviews)", "classification", (LENGTH,), "long", 2, (),
        "Short made-up reviews, 100-word vocabulary: positive or negative? Watch out for \"not\".",
        options=(
            ParamSpec("n_samples", "int", 2000, min=200, max=20000, doc="How many reviews."),
            ParamSpec("negation", "float", 0.4, min=0.0, max=0.9,
                       doc="How often a clause is negated (\"not good\")."),
        )), make_sentiment),
)
