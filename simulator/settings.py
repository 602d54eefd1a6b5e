"""One ``Settings`` object for the whole engine and app, read from ``SIM_*`` environment variables.

Nothing here is a module-level singleton: create ``Settings()`` at the edge (CLI, app factory) and pass it in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from platformdirs import user_data_dir
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


def _default_data_dir() -> Path:
    return Path(user_data_dir("cs-simulator", appauthor=False))


class Settings(BaseSettings):
    """Runtime configuration. Every field can be set as ``SIM_<FIELD>`` in the environment or a ``.env`` file."""

    model_config = SettingsConfigDict(env_prefix="SIM_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="Where indexes, databases and other run-time files go. Never inside the source tree.",
    )
    scenarios_dir: Path = Field(
        default=REPO_ROOT / "scenarios", description="Folder of scenario packs (YAML) and exams."
    )
    knowledge_dir: Path = Field(
        default=REPO_ROOT / "knowledge", description="Folder of knowledge documents (Markdown)."
    )

    # Embeddings and retrieval
    embedder: str = Field(
        default="use",
        description="'use' (multilingual Universal Sentence Encoder, offline default), 'fake' (tests), "
        "or 'st:<model name or path>' for a sentence-transformers model.",
    )
    embedder_threads: int = Field(default=0, description="Threads for the USE embedder; 0 = CPU count.")
    chroma_url: str | None = Field(
        default=None, description="URL of a Chroma server (chroma run); unset = embedded PersistentClient."
    )
    collection: str = Field(default="knowledge", description="Chroma collection name (3+ characters).")

    # LLM (optional): any OpenAI-compatible endpoint
    llm_base_url: str | None = Field(default=None, description="OpenAI-compatible base URL; unset = offline.")
    llm_api_key: SecretStr = Field(default=SecretStr("not-needed"), description="API key for the endpoint.")
    llm_model: str = Field(default="gpt-4o-mini", description="Model name at the endpoint.")
    llm_timeout_s: float = Field(default=30.0, description="Per-request timeout in seconds.")
    llm_retries: int = Field(default=2, description="Retries with backoff on transient failures.")
    llm_temperature: float = Field(default=0.7, description="Sampling temperature for the customer.")

    # Grading
    rules_dir: Path = Field(
        default=REPO_ROOT / "scenarios" / "rules",
        description="Folder of the service-rule lexicons (zh-CN.yaml, en.yaml) the grader reads.",
    )
    pass_mark: float = Field(
        default=80.0, ge=0, le=100, description="Overall score a practice attempt needs to pass (exams set their own)."
    )
    judge_samples: int = Field(default=3, ge=1, le=9, description="LLM judge samples per criterion (majority).")

    # Web app
    host: str = Field(default="127.0.0.1", description="Address `simulator serve` binds to.")
    port: int = Field(default=8000, description="Port `simulator serve` binds to.")
    workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Server processes for `simulator serve` (one per core serves more trainees; each holds the "
        "embedder and index, ~0.4 GB).",
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; unset = SQLite file in the data directory."
    )
    secret_key: SecretStr | None = Field(
        default=None, description="Cookie-signing key; unset = generated once and kept in the data directory."
    )
    demo: bool = Field(default=True, description="Create demo accounts on first start.")
    locale: Literal["zh-CN", "en"] = Field(default="zh-CN", description="Default UI language.")
    max_message_chars: int = Field(default=2000, description="Longest trainee message accepted.")
    cjk_font: Path | None = Field(
        default=None,
        description="Font file (.ttf/.ttc) with Chinese glyphs for certificate PDFs; unset = the first installed of "
        "WenQuanYi Micro Hei (Debian fonts-wqy-microhei), WenQuanYi Zen Hei, Noto Sans CJK, Droid Sans Fallback.",
    )

    def ensure_data_dir(self) -> Path:
        """Create the data directory if needed and return it."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.data_dir

    @property
    def index_dir(self) -> Path:
        """Folder of the embedded chromadb and keyword index."""
        return self.data_dir / "index"

    @property
    def sqlalchemy_url(self) -> str:
        """Database URL, defaulting to a SQLite file in the data directory."""
        return self.database_url or f"sqlite:///{self.data_dir / 'simulator.db'}"
