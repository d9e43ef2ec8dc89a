#!/usr/bin/env python3
"""Inclusive instructions per call of the functions whose name matches a regular expression,
from a callgrind output file: sums every call site's call count and inclusive cost.

    valgrind --tool=callgrind --callgrind-out-file=cg.out BENCH --bench --profile-time 1 'answer/hit$'
    tools/callgrind-per-call.py cg.out 'engine::answer$'     # prints: calls instructions per-call
"""
import re
import sys
names={}
calls=0; ir=0
lines=open(sys.argv[1]).read().split('\n')
i=0
pat=sys.argv[2]
while i < len(lines):
    l=lines[i]
    m=re.match(r'cfn=\((\d+)\)(?: (.*))?',l)
    if m:
        fid,name=m.group(1),m.group(2)
        if name: names[fid]=name
        n=names.get(fid,'')
        if re.search(pat,n) and lines[i+1].startswith('calls='):
            c=int(lines[i+1].split('=')[1].split()[0])
            cost=int(lines[i+2].split()[1])
            calls+=c; ir+=cost
        i+=1; continue
    m=re.match(r'fn=\((\d+)\)(?: (.*))?',l)
    if m and m.group(2): names[m.group(1)]=m.group(2)
    i+=1
print(calls, ir, ir/calls if calls else 0)
