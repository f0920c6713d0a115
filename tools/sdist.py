"""A source distribution unpacked as the tests' real apps need it (Flask's own example sources)."""
import os
import tarfile


def extract(archive, dest):
    """Unpack the sdist `archive` into dest: regular files and directories only, each inside dest.
    Python 3.11.4 and later check that themselves (filter="data"); Debian 12's 3.11.2 cannot."""
    with tarfile.open(archive) as sdist:
        if hasattr(tarfile, "data_filter"):
            sdist.extractall(dest, filter="data")
            return
        top = os.path.realpath(dest)
        members = sdist.getmembers()
        for member in members:
            where = os.path.realpath(os.path.join(top, member.name))
            if not (member.isfile() or member.isdir()) or os.path.commonpath([top, where]) != top:
                raise ValueError("%s holds %s, which is no plain file or directory inside it" % (archive, member.name))
        sdist.extractall(dest, members=members)
