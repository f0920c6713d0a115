#!/usr/bin/env python3
"""Makes the three apps the `apps` scenario deploys, each by its own project's tools, in OUT:

- django/v1..v3: `django-admin startproject` and `startapp`, settings read from the environment,
  a model whose migrations `makemigrations` writes; v2 adds a field (and its migration) that the
  new code reads; v3 adds a migration that fails.
- flaskr/v1..v3: the Flask tutorial from Flask's own sdist, served by create_app(), settings from
  the environment, a `flask migrate` command; v2 adds a column that the new code reads; v3's
  migration fails.
- fastapi/v1..v3: a SQLModel app with Alembic migrations (`alembic init`, `alembic revision
  --autogenerate`); v2 adds a column that the new code reads; v3's revision fails.

What the generators leave is edited only where a user of the tool edits it (settings, a model, a
view, alembic's env.py); every migration is the tool's own output, but for the failing ones.
The tools run from a virtualenv of their own in OUT/tools.
"""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "tools"))
from sdist import extract as unpack_sdist  # noqa: E402

DJANGO = "Django==5.2.19"
FLASK = "flask==3.1.3"
FASTAPI = ["fastapi==0.165.0", "sqlmodel==0.0.50", "alembic==1.20.1", "uvicorn-worker==0.4.0", "uvicorn==0.54.0"]


def run(argv, cwd=None, env=None):
    subprocess.run(argv, cwd=cwd, env=dict(os.environ, **(env or {})), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=600)


def edit(path, *changes):
    """Each change: (pattern, replacement), which must match."""
    with open(path) as handle:
        text = handle.read()
    for pattern, replacement in changes:
        text, count = re.subn(pattern, replacement, text, count=1, flags=re.MULTILINE)
        if not count:
            raise SystemExit("%s: %r not found: the tool's output changed" % (path, pattern))
    with open(path, "w") as handle:
        handle.write(text)


def write(path, text, mode="w"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, mode) as handle:
        handle.write(text)


def copy_version(base, old, new):
    shutil.copytree(os.path.join(base, old), os.path.join(base, new),
                    ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3", "*.db"))
    return os.path.join(base, new)


def tools(out):
    venv = os.path.join(out, "tools")
    if not os.path.exists(os.path.join(venv, "bin", "django-admin")):
        run([sys.executable, "-m", "venv", venv])
        run([os.path.join(venv, "bin", "pip"), "install", "-q", DJANGO, FLASK] + FASTAPI)
    return os.path.join(venv, "bin")


# Django ---------------------------------------------------------------------------------------

DJANGO_VIEW = '''import os

from django.http import HttpResponse

from .models import Note

VERSION = "1"


def index(request):
    notes = Note.objects.all()
    return HttpResponse("%s: %d notes, v%s\\n" % (os.environ.get("NOTES_TITLE", "Notes"), notes.count(), VERSION))
'''


def make_django(bin_dir, base):
    v1 = os.path.join(base, "v1")
    os.makedirs(v1)
    manage = [os.path.join(bin_dir, "python"), "manage.py"]
    env = {"DJANGO_SECRET_KEY": "made-by-make-apps", "DJANGO_ALLOWED_HOSTS": "localhost",
           "DJANGO_DATABASE": os.path.join(base, "make.sqlite3")}
    run([os.path.join(bin_dir, "django-admin"), "startproject", "notesite", v1])
    run(manage + ["startapp", "notes"], cwd=v1)
    edit(os.path.join(v1, "notesite", "settings.py"),
         (r"^from pathlib import Path$", "import os\nfrom pathlib import Path"),
         (r"^SECRET_KEY = .*$", 'SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]'),
         (r"^DEBUG = True$", 'DEBUG = os.environ.get("DJANGO_DEBUG") == "1"'),
         (r"^ALLOWED_HOSTS = \[\]$", 'ALLOWED_HOSTS = os.environ["DJANGO_ALLOWED_HOSTS"].split(",")'),
         (r"^INSTALLED_APPS = \[$", 'INSTALLED_APPS = [\n    "notes",'),
         (r"BASE_DIR / .db\.sqlite3.,", 'os.environ["DJANGO_DATABASE"],'),
         (r"^(STATIC_URL = .*)$", '\\1\nSTATIC_ROOT = BASE_DIR / "staticfiles"'))
    edit(os.path.join(v1, "notesite", "urls.py"),
         (r"^from django.urls import path$", "from django.urls import path\n\nfrom notes.views import index"),
         (r"^urlpatterns = \[$", 'urlpatterns = [\n    path("", index),'))
    write(os.path.join(v1, "notes", "models.py"),
          '\n\nclass Note(models.Model):\n    text = models.CharField(max_length=200)\n', "a")
    write(os.path.join(v1, "notes", "views.py"), DJANGO_VIEW)
    write(os.path.join(v1, "requirements.txt"), DJANGO + "\n")
    run(manage + ["makemigrations", "notes"], cwd=v1, env=env)
    # Working data from the first deploy on: a data migration, as `makemigrations --empty` starts it.
    run(manage + ["makemigrations", "notes", "--empty", "--name", "welcome"], cwd=v1, env=env)
    edit(os.path.join(v1, "notes", "migrations", "0002_welcome.py"),
         (r"^class Migration", 'def welcome(apps, schema_editor):\n    apps.get_model("notes", "Note").objects.create('
                               'text="welcome")\n\n\nclass Migration'),
         (r"operations = \[\s*\]", "operations = [migrations.RunPython(welcome, migrations.RunPython.noop)]"))

    v2 = copy_version(base, "v1", "v2")
    edit(os.path.join(v2, "notes", "models.py"),
         (r"^(    text = .*)$", "\\1\n    pinned = models.BooleanField(default=False)"))
    edit(os.path.join(v2, "notes", "views.py"),
         (r'^VERSION = "1"$', 'VERSION = "2"'),
         (r"notes = Note.objects.all\(\)", "notes = Note.objects.filter(pinned=False)"))
    run(manage + ["makemigrations", "notes"], cwd=v2, env=env)

    v3 = copy_version(base, "v2", "v3")
    edit(os.path.join(v3, "notes", "views.py"), (r'^VERSION = "2"$', 'VERSION = "3"'))
    run(manage + ["makemigrations", "notes", "--empty", "--name", "broken"], cwd=v3, env=env)
    broken = [name for name in os.listdir(os.path.join(v3, "notes", "migrations")) if name.endswith("_broken.py")][0]
    edit(os.path.join(v3, "notes", "migrations", broken),
         (r"operations = \[\s*\]", 'operations = [migrations.RunSQL("INSERT INTO notes_archive VALUES (1)")]'))
    os.remove(env["DJANGO_DATABASE"])


# flaskr -------------------------------------------------------------------------------------

FLASKR_MIGRATE = '''

@click.command("migrate")
def migrate_command():
    """Bring the database up to date: the tables on a new one, then what later versions add."""
    db = get_db()
    if not db.execute("SELECT name FROM sqlite_master WHERE name = 'post'").fetchone():
        init_db()
    click.echo("the database is up to date")
'''
# Version 2's step of `flask migrate`, before its last line; version 3's, which fails.
FLASKR_VIEWS = '''    if "views" not in [row["name"] for row in db.execute("PRAGMA table_info(post)")]:
        db.execute("ALTER TABLE post ADD COLUMN views INTEGER NOT NULL DEFAULT 0")
        db.commit()
'''
FLASKR_BROKEN = '''    db.execute("ALTER TABLE post_archive ADD COLUMN views INTEGER NOT NULL DEFAULT 0")
'''


def make_flaskr(bin_dir, base):
    sdist = os.path.join(base, "sdist")
    run([os.path.join(bin_dir, "pip"), "download", "-q", "--no-deps", "--no-binary", ":all:", "--dest", sdist, FLASK])
    name = FLASK.replace("==", "-")
    unpack_sdist(os.path.join(sdist, name + ".tar.gz"), sdist)
    v1 = os.path.join(base, "v1")
    shutil.copytree(os.path.join(sdist, name, "examples", "tutorial"), v1)
    # pip installs the tutorial's own pyproject.toml (its `flask`), with the version pinned.
    write(os.path.join(v1, "requirements.txt"), FLASK + "\n.\n")
    # Settings and secrets from the environment (FLASK_SECRET_KEY, FLASK_SITE_NAME), as Flask's
    # docs configure an app; the site's name on each page, and the version in its title.
    edit(os.path.join(v1, "flaskr", "__init__.py"),
         (r'^        SECRET_KEY="dev",$', '        SECRET_KEY="dev",\n        SITE_NAME="Flaskr",'),
         (r'^(        app\.config\.from_pyfile\("config\.py", silent=True\))$', "\\1\n        app.config.from_prefixed_env()"))
    edit(os.path.join(v1, "flaskr", "templates", "base.html"),
         (r" - Flaskr</title>", " - Flaskr v1</title>"),
         (r">Flaskr</a></h1>", ">{{ config['SITE_NAME'] }}</a></h1>"))
    # Its migrations: a command of its own (the tutorial has only init-db, which empties the database).
    edit(os.path.join(v1, "flaskr", "db.py"),
         (r"^(    app\.cli\.add_command\(init_db_command\))$", "\\1\n    app.cli.add_command(migrate_command)"))
    write(os.path.join(v1, "flaskr", "db.py"), FLASKR_MIGRATE, "a")

    v2 = copy_version(base, "v1", "v2")
    edit(os.path.join(v2, "flaskr", "db.py"), (r'^(    click\.echo\("the database is up to date"\))$', FLASKR_VIEWS + "\\1"))
    edit(os.path.join(v2, "flaskr", "blog.py"), (r"SELECT p\.id, ", "SELECT p.id, p.views, "))
    edit(os.path.join(v2, "flaskr", "templates", "base.html"), (r" - Flaskr v1</title>", " - Flaskr v2</title>"))

    v3 = copy_version(base, "v2", "v3")
    edit(os.path.join(v3, "flaskr", "db.py"), (r'^(    click\.echo\("the database is up to date"\))$', FLASKR_BROKEN + "\\1"))
    edit(os.path.join(v3, "flaskr", "templates", "base.html"), (r" - Flaskr v2</title>", " - Flaskr v3</title>"))


# FastAPI ------------------------------------------------------------------------------------

FASTAPI_APP = '''import os

from fastapi import FastAPI
from sqlmodel import Field, Session, SQLModel, create_engine, select

VERSION = "1"
engine = create_engine("sqlite:///" + os.environ["HEROES_DATABASE"])


class Hero(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str


app = FastAPI()


@app.get("/")
def root():
    with Session(engine) as session:
        heroes = session.exec(select(Hero)).all()
    return {"title": os.environ.get("HEROES_TITLE", "Heroes"), "heroes": len(heroes), "version": VERSION}
'''


def make_fastapi(bin_dir, base):
    v1 = os.path.join(base, "v1")
    os.makedirs(v1)
    env = {"HEROES_DATABASE": os.path.join(base, "make.db")}
    alembic = [os.path.join(bin_dir, "alembic")]
    write(os.path.join(v1, "main.py"), FASTAPI_APP)
    write(os.path.join(v1, "requirements.txt"), "\n".join(FASTAPI) + "\n")
    run(alembic + ["init", "migrations"], cwd=v1)
    # alembic.ini's URL is a placeholder: env.py takes the app's, as Alembic's docs show.
    edit(os.path.join(v1, "migrations", "env.py"),
         (r"^target_metadata = None$", "import main\n\ntarget_metadata = main.SQLModel.metadata\n"
                                       'config.set_main_option("sqlalchemy.url", str(main.engine.url))'))
    edit(os.path.join(v1, "migrations", "script.py.mako"), (r"^import sqlalchemy as sa$", "import sqlalchemy as sa\nimport sqlmodel"))
    run(alembic + ["revision", "--autogenerate", "-m", "heroes"], cwd=v1, env=env)
    run(alembic + ["upgrade", "head"], cwd=v1, env=env)

    v2 = copy_version(base, "v1", "v2")
    edit(os.path.join(v2, "main.py"),
         (r'^VERSION = "1"$', 'VERSION = "2"'),
         # A server default: SQLite adds a NOT NULL column to a table only with one.
         (r"^    name: str$", '    name: str\n    power: int = Field(default=0, sa_column_kwargs={"server_default": "0"})'))
    run(alembic + ["revision", "--autogenerate", "-m", "power"], cwd=v2, env=env)

    v3 = copy_version(base, "v2", "v3")
    edit(os.path.join(v3, "main.py"), (r'^VERSION = "2"$', 'VERSION = "3"'))
    run(alembic + ["revision", "-m", "broken"], cwd=v3, env=env)
    broken = [name for name in os.listdir(os.path.join(v3, "migrations", "versions")) if name.endswith("_broken.py")][0]
    edit(os.path.join(v3, "migrations", "versions", broken),
         (r"^def upgrade\(\) -> None:\n(?:    .*\n)*?    pass$", 'def upgrade() -> None:\n    op.execute("INSERT INTO hero_archive VALUES (1)")'))
    os.remove(env["HEROES_DATABASE"])


def main():
    out = os.path.abspath(sys.argv[1])
    bin_dir = tools(out)
    for name, make in (("django", make_django), ("flaskr", make_flaskr), ("fastapi", make_fastapi)):
        base = os.path.join(out, name)
        shutil.rmtree(base, ignore_errors=True)
        os.makedirs(base)
        make(bin_dir, base)
    print(out)


if __name__ == "__main__":
    main()
