"""Debian's python3-dirq driven from the tests: run with /usr/bin/python3.

  dirq_tool.py add QUEUE        stdin: JSON list of {"text": str} (dirq writes str as UTF-8) or {"base64": str} (bytes)
  dirq_tool.py lock QUEUE NAME  lock one element as another reader would
  dirq_tool.py drain QUEUE      what ssmsend does: iterate, lock, get, decode('ascii'), remove; then purge()
  dirq_tool.py browse QUEUE     lock, get and unlock every element (nothing removed)
  dirq_tool.py count QUEUE
Output: one JSON document on stdout.
"""
import base64
import json
import sys

from dirq.QueueSimple import QueueSimple


def element(queue, name, data):
    try:
        data.decode('ascii')
        ascii_ok = True
    except UnicodeDecodeError:
        ascii_ok = False
    return {'name': name, 'base64': base64.b64encode(data).decode('ascii'), 'ascii': ascii_ok}


def main():
    command, path = sys.argv[1], sys.argv[2]
    queue = QueueSimple(path)
    if command == 'add':
        names = []
        for item in json.load(sys.stdin):
            names.append(queue.add(item['text'] if 'text' in item else base64.b64decode(item['base64'])))
        out = names
    elif command == 'lock':
        out = queue.lock(sys.argv[3])
    elif command in ('drain', 'browse'):
        out = []
        for name in queue:
            if not queue.lock(name):
                continue
            data = queue.get(name)
            out.append(element(queue, name, data))
            if command == 'drain':
                queue.remove(name)
            else:
                queue.unlock(name)
        if command == 'drain':
            queue.purge()
    elif command == 'count':
        out = queue.count()
    else:
        raise SystemExit('unknown command %s' % command)
    json.dump(out, sys.stdout)


main()
