"""`assistant store`: run the untrusted store server; inspect and compact the store."""

from __future__ import annotations

from pathlib import Path

import click

from assistant.cli.output import note, print_json
from assistant.config import load_settings


@click.group()
def store() -> None:
    """The encrypted vector store: serve it, inspect it, compact it."""


@store.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8765, show_default=True, help="TCP port (0 picks a free one).")
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="SQLite file to serve (default: store.db in ASSISTANT_HOME).",
)
@click.option("--max-body-mb", default=256, show_default=True, help="Largest request body accepted.")
@click.option(
    "--device",
    type=click.Choice(["numpy", "cpu", "cuda"]),
    default="numpy",
    show_default=True,
    help="Where the scan runs: numpy on the CPU, or torch on the CPU or a CUDA GPU (blocks stay resident).",
)
@click.option(
    "--tls-cert",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="PEM certificate: serve https (with --tls-key).",
)
@click.option(
    "--tls-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="PEM private key of --tls-cert.",
)
@click.option("--max-connections", default=64, show_default=True, help="Open connections at once.")
@click.option(
    "--timeout-s", default=30.0, show_default=True, help="Seconds a silent connection is kept open."
)
def serve(
    host: str,
    port: int,
    db_path: Path | None,
    max_body_mb: int,
    device: str,
    tls_cert: Path | None,
    tls_key: Path | None,
    max_connections: int,
    timeout_s: float,
) -> None:
    """Serve the encrypted store over HTTP or HTTPS; it never holds a key.

    The bearer token comes from ASSISTANT_STORE_TOKEN, or a fresh one is generated and printed.
    Without --tls-cert the token and the ciphertexts travel in clear: use it beyond 127.0.0.1.

    Example: ASSISTANT_STORE_TOKEN=s3cret assistant store serve --tls-cert cert.pem --tls-key key.pem
    """
    import secrets
    import ssl

    from assistant.errors import ConfigError
    from encrypted_store.server import serve as make_server
    from encrypted_store.transport import tls_context

    if (tls_cert is None) != (tls_key is None):
        raise ConfigError("--tls-cert and --tls-key go together.", "Give both PEM files, or neither.")
    tls = None
    if tls_cert is not None and tls_key is not None:
        try:
            tls = tls_context(tls_cert, tls_key)
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError(
                f"The TLS certificate or key cannot be loaded ({exc}).",
                "Check that --tls-key is the private key of --tls-cert, both in PEM.",
            ) from None

    settings = load_settings()
    if device == "cuda":
        _require_cuda()
    token = settings.store_token.get_secret_value() if settings.store_token else None
    if not token:
        token = secrets.token_urlsafe(24)
        note(f"generated token (set ASSISTANT_STORE_TOKEN={token} on the client)")
    server = make_server(
        db_path or settings.store_path,
        host,
        port,
        token,
        max_body_mb * 1024 * 1024,
        settings.threads,
        None if device == "numpy" else device,
        tls=tls,
        max_connections=max_connections,
        conn_timeout=timeout_s,
    )
    bound_host, bound_port = server.server_address[:2]
    click.echo(f"store server listening on {server.scheme}://{bound_host}:{bound_port}", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _require_cuda() -> None:
    from assistant.errors import ConfigError

    try:
        import torch
    except ImportError:
        raise ConfigError(
            "--device cuda needs torch.", "Install the embed extra, or use --device numpy."
        ) from None
    if not torch.cuda.is_available():
        raise ConfigError(
            "--device cuda was asked for, but torch sees no CUDA GPU.",
            "Use --device numpy (the default) or --device cpu on this machine.",
        )


def _open():  # type: ignore[no-untyped-def]
    from assistant.cli.session import open_keyring, store_recorder
    from assistant.wiring import open_store

    settings = load_settings()
    keyring = open_keyring(settings)
    return open_store(settings, keyring, recorder=store_recorder(settings, keyring))


@store.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def info(as_json: bool) -> None:
    """Counts and sizes of the store (needs the passphrase to check the keys match).

    Example: assistant store info --json
    """
    st = _open()
    try:
        stats = st.stats()
    finally:
        st.close()
    if as_json:
        print_json(stats)
    else:
        for key, value in stats.items():
            click.echo(f"{key}: {value}")


@store.command()
@click.option("--min-live", default=0.5, show_default=True, help="Rebuild blocks with fewer live records.")
def compact(min_live: float) -> None:
    """Re-encrypt sparse or damaged blocks from the sealed records and reclaim space.

    Example: assistant store compact
    """
    st = _open()
    try:
        dropped = st.compact(min_live=min_live)
        warnings = st.last_warnings
    finally:
        st.close()
    note(f"rebuilt {dropped} block(s)")
    for warning in warnings:
        note(f"warning: {warning}")
