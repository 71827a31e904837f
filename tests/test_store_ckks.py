"""The numpy CKKS matches SEAL: NTT layout, encryption, decryption, both directions; exact scans."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from tenseal import sealapi

from encrypted_store import scan
from encrypted_store.ckks import CkksKit, N, _context, generate_secret_key, params_dict, seal_secret_ntt
from encrypted_store.errors import StoreError
from encrypted_store.ntt import Ntt, mulmod


@pytest.fixture(scope="module")
def kit() -> CkksKit:
    params = params_dict()
    return CkksKit(params, generate_secret_key(params))


def _coeffs(ct: object) -> np.ndarray:
    """A SEAL ciphertext's coefficients, read one by one (the binding exposes no buffer)."""
    arr = ct.dyn_array()  # type: ignore[attr-defined]
    return np.array([arr.at(i) for i in range(arr.size())], dtype=np.int64).reshape(-1, N)


def _to_seal(ctx: object, coeffs: np.ndarray, scale: float, tmp_path: object) -> object:
    """Write an uncompressed SEAL 4.x ciphertext file and load it."""
    probe = sealapi.Ciphertext()
    keygen = sealapi.KeyGenerator(ctx)
    sealapi.Encryptor(ctx, keygen.secret_key()).encrypt_zero_symmetric(probe)
    parms_id = struct.pack("<4Q", *probe.parms_id())
    size = coeffs.shape[0]
    hdr = struct.Struct("<HBBBBHQ")
    body = parms_id + struct.pack("<BQQQdQ", 1, size, N, 1, scale, 1)
    body += hdr.pack(0xA15E, 16, 4, 3, 0, 0, 24 + 8 * size * N) + struct.pack("<Q", size * N)
    body += coeffs.astype("<u8").tobytes()
    path = tmp_path / "ct.bin"  # type: ignore[operator]
    path.write_bytes(hdr.pack(0xA15E, 16, 4, 3, 0, 0, 16 + len(body)) + body)
    ct = sealapi.Ciphertext()
    ct.load(ctx, str(path))
    return ct


def test_ntt_matches_seal_and_inverts() -> None:
    params = params_dict()
    ctx = _context(params["prime"])
    enc = sealapi.Encryptor(ctx, sealapi.KeyGenerator(ctx).secret_key())
    ct = sealapi.Ciphertext()
    enc.encrypt_zero_symmetric(ct)
    ntt_form = _coeffs(ct)
    sealapi.Evaluator(ctx).transform_from_ntt_inplace(ct)
    plain_form = _coeffs(ct)
    ntt = Ntt(params["prime"], N)
    assert np.array_equal(ntt.forward(plain_form), ntt_form)
    assert np.array_equal(ntt.inverse(ntt_form), plain_form)


def test_mulmod_is_exact() -> None:
    p = params_dict()["prime"]
    rng = np.random.default_rng(3)
    a, b = rng.integers(0, p, 5000), rng.integers(0, p, 5000)
    got = mulmod(a, b, p)
    assert all(int(got[i]) == int(a[i]) * int(b[i]) % p for i in range(5000))


def test_seal_decrypts_ours_and_we_decrypt_seals(kit: CkksKit, tmp_path: object) -> None:
    ctx = _context(kit.prime)
    key = sealapi.KeyGenerator(ctx).secret_key()  # SEAL's key, handed to the numpy kit
    mine = CkksKit(kit.params, b"NTT1" + seal_secret_ntt(key).astype("<u8").tobytes())
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((N, 3)) * 0.1
    block = mine.encrypt_block(vectors.astype(np.float32))  # (N, 2, 3) centred
    ct_coeffs = np.mod(block[:, :, 1].T.astype(np.int64), mine.prime)
    seal_ct = _to_seal(ctx, ct_coeffs, mine.scale, tmp_path)
    plain = sealapi.Plaintext()
    sealapi.Decryptor(ctx, key).decrypt(seal_ct, plain)
    z = np.asarray(sealapi.CKKSEncoder(ctx).decode_complex(plain))
    assert np.abs(z.real - vectors[0::2, 1].astype(np.float32)).max() < 1e-4
    assert np.abs(z.imag - vectors[1::2, 1].astype(np.float32)).max() < 1e-4
    # and the other way: SEAL encrypts, we decrypt
    encoder = sealapi.CKKSEncoder(ctx)
    values = rng.standard_normal(N // 2) * 0.3
    pt = sealapi.Plaintext()
    encoder.encode(values.tolist(), mine.scale, pt)
    ct = sealapi.Ciphertext()
    sealapi.Encryptor(ctx, key).encrypt_symmetric(pt, ct)
    out = mine.decrypt(_coeffs(ct)[None], mine.scale)
    assert np.abs(out[0, 0::2] - values).max() < 1e-4


@pytest.mark.slow
def test_plain_scan_is_exact_and_accurate(kit: CkksKit) -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((N, 384)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    q = rng.standard_normal((2, 384)).astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    block = kit.encrypt_block(x)
    query = scan.plain_query(q, kit.params["query_bits"])
    group = np.ascontiguousarray(block.transpose(2, 0, 1)[:, :, None, :])  # (D, N, 1, 2)
    cts = scan.scan_plain(group, query, kit.prime)  # (1, Q, 2, N)
    scores = kit.decrypt(cts[0], kit.scale * 2 ** kit.params["query_bits"])
    exact = q.astype(np.float64) @ x.astype(np.float64).T
    assert np.abs(scores - exact).max() < 1e-4
    enc = kit.encrypt_broadcast(q[0], 2.0 ** kit.params["enc_query_bits"])
    cts3 = scan.scan_encrypted([scan.split_blocks(group)], enc[None], kit.prime)[0][:, 0]  # (1, 3, N)
    enc_scores = kit.decrypt(cts3, kit.scale * 2 ** kit.params["enc_query_bits"])
    assert np.abs(enc_scores[0] - exact[0]).max() < 2e-2


def test_encrypted_scan_is_the_same_on_several_threads() -> None:
    rng = np.random.default_rng(2)
    prime = (1 << 42) + 1  # any odd modulus below 2^43: the scan's arithmetic is what is checked
    groups = [rng.integers(-(prime // 2), prime // 2, size=(8, N, g, 2)).astype(np.float64) for g in (2, 1)]
    splits = [scan.split_blocks(g) for g in groups]
    hi_lo = splits[0].astype(np.float64)
    assert np.array_equal(hi_lo[:, :, 1] * 2.0**scan.SPLIT_BITS + hi_lo[:, :, 0], groups[0])
    enc = rng.integers(0, prime, size=(2, 8, 2, N)).astype(np.uint64)
    one = scan.scan_encrypted(splits, enc, prime, workers=1)
    two = scan.scan_encrypted(splits, enc, prime, workers=2, span=512)
    assert all(np.array_equal(a, b) for a, b in zip(one, two, strict=True))
    # position 0, block 0, query 1, polynomial x0*q0: the product the scan must compute mod p
    x0 = groups[0][:, 0, 0, 0].astype(np.int64).astype(object)
    q0 = enc[1, :, 0, 0].astype(object)
    assert int(one[0][0, 1, 0, 0]) == int(sum(a * b for a, b in zip(x0, q0, strict=True)) % prime)


def test_scan_refuses_an_inexact_product() -> None:
    with pytest.raises(StoreError, match="exactness"):
        scan.check_exact(2.0**42, np.full((384, 1), 64.0))
