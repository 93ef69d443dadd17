"""``workbench serve``: the standalone web app built from the same views as the notebooks."""

from .server import AuthRequired, build_app, is_local_address, serve

__all__ = ["AuthRequired", "build_app", "is_local_address", "serve"]
