#!/usr/bin/env python3
"""Print what the EB CLI (awsebcli 3.27.x) would put in the zip for a project that has a .ebignore.

Usage: python3 ebignore_oracle.py PROJECT_DIR [--files]

Needs pathspec==0.12.1, the version awsebcli pins. This follows the EB CLI's own code
(fileoperations.get_ebignore_list, then _zipdir) step for step, but prints entry names
instead of writing a zip. That makes it an oracle for stevedore::ignore::eb::bundle_entries.

Output is sorted, one name per line:
  default  the zip member names as the EB CLI writes them (BundleEntry::zip_name): files
           "a/b.txt", directory entries "a/" (the root is "./"), symlinks "./a/link".
  --files  only the files and symlinks, as plain relative paths (BundleEntry::rel_path).
The exit status is non-zero, with a message, where the EB CLI itself would fail: a broken
symlink (os.stat raises), a symlink loop (pathspec raises RecursionError), or a bad pattern.
For a FIFO or device node we also exit non-zero, because the EB CLI would hang or read the device.
"""
import codecs
import os
import stat
import sys
import zipfile

import pathspec


def zip_member(path):
    # zipfile.write() names members this way; symlinks get the raw walk path instead (see below).
    return zipfile.ZipInfo.from_file(path).filename


def main():
    args = [a for a in sys.argv[1:] if a != '--files']
    files_only = '--files' in sys.argv[1:]
    if len(args) != 1:
        sys.exit(__doc__)
    if pathspec.__version__ != '0.12.1':
        sys.exit(f'need pathspec 0.12.1, found {pathspec.__version__}')
    os.chdir(args[0])
    if not os.path.isfile('.ebignore'):
        sys.exit('no .ebignore: the EB CLI would bundle with git archive instead')

    # get_ebignore_list()
    with codecs.open('.ebignore', 'r', encoding='utf-8') as f:
        spec = pathspec.PathSpec.from_lines('gitwildmatch', f)
    ignore = {'./' + entry.path for entry in spec.match_tree_entries(os.getcwd())}
    ignore.add('./.ebignore')

    # _zipdir('./', ...)
    names = []
    zipped_roots = set()
    for root, dirs, files in os.walk('./'):
        if '.elasticbeanstalk' in root:  # substring test on the whole path: the EB CLI's bug, kept
            continue
        for d in dirs:
            cur = os.path.join(root, d)
            if os.path.islink(cur) and cur not in ignore:
                names.append((cur, cur[2:]))
        for f in files:
            cur = os.path.join(root, f)
            if cur.endswith('~') or cur in ignore or stat.S_ISSOCK(os.stat(cur).st_mode):
                continue
            if root not in zipped_roots:
                zipped_roots.add(root)
                names.append((zip_member(root), None))
            if os.path.islink(cur):
                names.append((cur, cur[2:]))
            elif not stat.S_ISREG(os.stat(cur).st_mode):
                sys.exit(f'{cur}: special file; the EB CLI would hang or read the device')
            else:
                names.append((zip_member(cur), cur[2:]))

    if files_only:
        lines = [rel for _, rel in names if rel is not None]
    else:
        lines = [member for member, _ in names]
    for line in sorted(lines):
        print(line)


if __name__ == '__main__':
    main()
