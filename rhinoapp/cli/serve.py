"""``rhinoapp serve``: start the web app."""

from __future__ import annotations

import argparse
import os

from rhinoapp.cli._common import settings_from

__all__ = ["register"]


def register(commands: argparse._SubParsersAction, shared: argparse.ArgumentParser) -> None:
    """Add the ``serve`` command."""
    serve = commands.add_parser("serve", help="start the web app", parents=[shared])
    serve.add_argument("--address", help="interface to listen on (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=int, help="port (default 5006)")
    serve.add_argument("--ssl-certfile", help="PEM certificate (chain) to serve HTTPS with (and --ssl-keyfile)")
    serve.add_argument("--ssl-keyfile", help="PEM private key of --ssl-certfile")
    serve.add_argument("--oidc-issuer", help="sign users in at this OpenID Connect provider (its issuer URL; "
                       "the client secret comes from RHINOAPP_OIDC_CLIENT_SECRET or --oidc-client-secret-file)")
    serve.add_argument("--oidc-client-id", help="rhinoapp's client id at the OpenID Connect provider")
    serve.add_argument("--oidc-client-secret-file", help="file holding the client secret (never pass the secret itself)")
    serve.add_argument("--oidc-redirect-uri", help="the public URL of the login page, e.g. https://rhino.example.org/login "
                       "(default: /login on the host the browser used)")
    serve.add_argument("--show", action="store_true", help="open the app in a browser")
    serve.add_argument("--jupyterhub", action="store_true",
                       help="run as a JupyterHub service: users sign in through the hub; address, port and prefix "
                            "come from the JUPYTERHUB_* variables the hub sets (docs/deployment.md)")
    serve.set_defaults(handler=_serve, verbose_logging=True)


def _serve(args: argparse.Namespace) -> int:
    from rhinoapp.app import serve  # Panel loads only for the web app
    from rhinoapp.config.hub import hub_settings_from

    hub = hub_settings_from(os.environ) if args.jupyterhub else None
    serve(settings_from(args), show=args.show, hub=hub)
    return 0
