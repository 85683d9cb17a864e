"""The NumPy sentence encoder reproduces the published all-MiniLM-L6-v2 similarities."""
import numpy as np
import pytest

from bot.embed import DIM, Encoder, WordPiece, cached_encode, model_dir


@pytest.fixture(scope="module")
def enc() -> Encoder:
    return Encoder()


def test_reproduces_the_model_cards_similarities(enc):
    # The sentence-transformers documentation gives these cosine similarities for this model
    # (computed there with PyTorch): 0.6660, 0.1046 and 0.1411.
    v = enc.encode(["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."])
    sims = v @ v.T
    assert sims[0, 1] == pytest.approx(0.6660, abs=5e-4)
    assert sims[0, 2] == pytest.approx(0.1046, abs=5e-4)
    assert sims[1, 2] == pytest.approx(0.1411, abs=5e-4)


def test_vectors_are_unit_length_and_independent_of_batching(enc):
    texts = ["short", "a much longer question about the NHS pension scheme after a spin out", "tupe"]
    together = enc.encode(texts)
    alone = np.vstack([enc.encode([t]) for t in texts])
    assert together.shape == (3, DIM)
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    assert np.allclose(together, alone, atol=1e-5)


def test_wordpiece_splits_like_bert():
    wp = WordPiece(model_dir() / "vocab.txt")
    ids = wp.encode("Don't spin-out, café")
    inverse = {i: w for w, i in wp.vocab.items()}
    assert [inverse[i] for i in ids] == ["[CLS]", "don", "'", "t", "spin", "-", "out", ",", "cafe", "[SEP]"]
    assert len(wp.encode("word " * 500)) == 128


def test_cache_returns_the_same_vectors(tmp_path, enc):
    texts = ["what is a mutual", "who can help me"]
    first = cached_encode(texts, tmp_path)
    assert len(list(tmp_path.glob("embeddings-*.npy"))) == 1
    assert np.allclose(cached_encode(texts, tmp_path), first)
    assert np.allclose(first, enc.encode(texts), atol=1e-6)


def test_gelu_matches_the_exact_erf_form():
    """The in-place polynomial GELU must equal BERT's x * Phi(x) to float32 precision."""
    from scipy.special import erf

    from bot.embed import _gelu

    x = np.linspace(-12, 12, 100_001).astype(np.float32)
    exact = 0.5 * x.astype(np.float64) * (1.0 + erf(x.astype(np.float64) / np.sqrt(2.0)))
    got = _gelu(x.copy())
    assert got.dtype == np.float32
    assert np.abs(got - exact).max() < 1e-6
    assert _gelu(np.zeros(3, dtype=np.float32)).tolist() == [0.0, 0.0, 0.0]
