#!/usr/bin/env python3
"""make_corpus.py -- writes the fuzzers' seed corpora (one folder per harness,
named as fuzz/fuzz_NAME.c) into OUT (default build/fuzz-corpus), so that no
corpus lives in the repository.  Text seeds are written here verbatim; the
binary ones (libCacheSim oracleGeneral records, safetensors checkpoints of the
harness's tiny model, HDF5 traces, results and sweep files) are built by
code: the HDF5 ones by the ctxcache command given with --ctxcache (skipped,
with a note, without it).  Deterministic: the same files every run.

    python3 fuzz/make_corpus.py [OUT] [--ctxcache build/ctxcache]
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

# (harness, file name, text)
TEXT_SEEDS = [
    ('arena', 'prompt.jsonl',
     '{"uid": "u1", "category": "arena-hard-v0.1", "cluster": "c", "prompt": "Sort a list in C."}\n{"uid": "u2", "prompt": "Explain \\"KV cache\\".\\n"}\n'),
    ('arena', 'turns.jsonl',
     '{"question_id": "q1", "cluster": "c", "turns": [{"content": "First"}, {"content": "Second"}]}\n'),
    ('azure', 'bad.csv',
     'TIMESTAMP,ContextTokens,GeneratedTokens\r\n2023-11-16 18:15:50.9951690,396,109\r\n2023-11-16 18:15:49.0,-1,x\r\n2023-02-29 25:00:00,1'),
    ('azure', 'edge.csv',
     '\ufeffTIMESTAMP,ContextTokens,GeneratedTokens\n2024-02-29 00:00:00,0,0\n2024-02-29 00:00:00.5,16777215,1\n2024-03-01 00:00:00.123456789,1,2\n\n'),
    ('azure', 'small.csv',
     'TIMESTAMP,ContextTokens,GeneratedTokens\r\n2023-11-16 18:15:46.6805900,374,44\r\n2023-11-16 18:15:50.9951690,396,109\r\n2023-11-16 23:59:59.9999999,879,55'),
    ('chatlog', 'bare.jsonl',
     '{"model": "m", "messages": [{"role": "developer", "content": "Be brief."}, {"role": "user", "content": [{"type": "text", "text": "Hi"}, "there"]}]}\n{"model": "m", "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello.", "function_call": {"name": "f", "arguments": "{}"}}, {"role": "function", "name": "f", "content": "42"}]}\n{"object": "chat.completion", "id": "x", "usage": {"prompt_tokens": 3, "completion_tokens": 2}}\n'),
    ('chatlog', 'wrapped.jsonl',
     '{"type": "request", "request_id": "r1", "session_id": "alice", "timestamp": "2025-01-02T03:04:05.5Z", "body": {"model": "llama-3-8b", "messages": [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "What is a cache?"}]}}\n{"type": "response", "request_id": "r1", "body": {"id": "chatcmpl-1", "usage": {"prompt_tokens": 20, "completion_tokens": 9}}}\n{"type": "request", "request_id": "r2", "session_id": "bob", "timestamp": "2025-01-02T03:04:05Z", "body": {"model": "llama-3-8b", "messages": [{"role": "user", "content": [{"type": "text", "text": "Look at this"}, {"type": "image_url", "image_url": {"url": "x"}}, {"type": "text", "text": "and say."}]}]}}\n{"type": "request", "request_id": "r3", "session_id": "alice", "timestamp": 1735787047.0, "body": {"model": "llama-3-8b", "messages": [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "What is a cache?"}, {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "search", "arguments": "{\\"q\\": \\"cache\\"}"}}]}, {"role": "tool", "tool_call_id": "c1", "content": "A cache keeps results."}, {"role": "critic", "content": "meh"}]}}\n{"type": "response", "request_id": "nope", "usage": {"completion_tokens": 3}}\n'),
    ('genspec', 'bad.spec',
     '[workload]\nrequests = 10\n[arrival]\ncv = 2   # not for poisson\n[sessions]\nturns = lognormal(mean=2)\n'),
    ('genspec', 'diurnal.spec',
     '# diurnal arrivals, no token ids\n[workload]\nrequests = 30\ntoken_ids = no\nmax_context_tokens = 512\n[arrival]\nprocess = diurnal\nrate = 10\nperiod_s = 60\namplitude = 1\npeak_s = 15\n[sessions]\nturns = fixed(4)\nthink_time_s = uniform(0.5, 2.5)\n'),
    ('genspec', 'minimal.spec',
     '[workload]\nrequests = 20\n'),
    ('genspec', 'mixed.spec',
     '[workload]\nrequests = 50\nblock_size = 8\ntext = all\n[arrival]\nprocess = gamma\nrate = 3\ncv = 2\n[tenants]\nnames = a@1, b@2\nweights = 2, 1\n[mix]\nchat = 1\nrag = 1\ndoc = 1\nparaphrase = 1\n[system_prompts]\ncount = 3\ntokens = uniform(10, 40)\n[sessions]\nturns = geometric(mean=3, max=6)\nthink_time_s = exponential(mean=5)\nuser_tokens = lognormal(mean=30, cv=1)\n[documents]\ncount = 4\ntokens = lognormal(median=300, cv=0.5, max=900)\n[rag]\ncorpus = 20\npassages = uniform(2, 4)\npassage_tokens = 40\norder = rank\n[paraphrase]\ngroups = 10\nexact_fraction = 0.5\n'),
    ('lcs_csv', 'ctxcache.csv',
     'timestamp,obj_id,obj_size\n0,1,1\n0.5,2,1\n1,1,1\n'),
    ('lcs_csv', 'headerless.csv',
     '0,5,10\n1,6,20\n1e1,0x1f,3\n'),
    ('lcs_csv', 'named_columns.csv',
     'version,time,op,size,lbn\n1,5633898,2a,512,42932745\n1,5633899,2b,6656,40409911\n'),
    ('lcs_csv', 'tabs_quotes.csv',
     '"Time"\t"Key"\t"Bytes"\r\n 1 \t 0x1F \t 2 \r\n\r\n2\t"31"\t4\r\n'),
    ('lcs_csv', 'traceprint.csv',
     '# time,object,size,next_access_vtime\n1,4,512,3\n2,5,512,-1\n2,4,512,-1\n'),
    ('mooncake', 'bad.jsonl',
     '{"timestamp": 5, "input_length": 1, "output_length": 1, "hash_ids": [7]}\n{"timestamp": 4, "input_length": 1, "output_length": -1, "hash_ids": [7'),
    ('mooncake', 'edge.jsonl',
     '{"hash_ids":[],"output_length":3,"input_length":0,"timestamp":7,"extra":{"a":[1,"x"]}}\r\n{"timestamp": 9, "input_length": 513, "output_length": 1, "hash_ids": [9223372036854775807, 4]}\n\n'),
    ('mooncake', 'small.jsonl',
     '{"timestamp": 0, "input_length": 1000, "output_length": 10, "hash_ids": [0, 1]}\n{"timestamp": 0, "input_length": 1500, "output_length": 20, "hash_ids": [0, 1, 2]}\n{"timestamp": 250, "input_length": 512, "output_length": 30, "hash_ids": [3]}\n'),
    ('mtbench', 'three.jsonl',
     '{"turns": ["a", "b", "c"], "reference": ["x", "y", "z"]}\n\n'),
    ('mtbench', 'two.jsonl',
     '{"question_id": 81, "category": "writing", "turns": ["Write a poem.", "Shorter."]}\n{"question_id": 82, "turns": ["One turn only."]}\n'),
    ('pairs', 'origin.json',
     '[{"origin": "Name a cache policy.", "similar": "Give one cache eviction policy."}]'),
    ('pairs', 'qqp.json',
     '[\n {"text_a": "How old is Rome?", "text_b": "What is the age of Rome?", "label": 1},\n {"text_a": "How old is Rome?", "text_b": "How big is Rome?", "label": 0}\n]\n'),
    ('pricing', 'bad.pricing',
     'name = x\nexplicit = 1\nttl_s = -3\n'),
    ('pricing', 'base.pricing',
     'base = moonshot-2024\nname = kimi-cheap\nhit_fee_usd = 0.001   # per call\ncreation_fee_usd = 0.5\n'),
    ('pricing', 'explicit.pricing',
     '# a user-defined explicit model\nname = my-explicit\nexplicit = 1\ninput_usd_per_mtok = 2.5\noutput_usd_per_mtok = 10\nwrite_mult = 1.25\nread_mult = 0.1\nstorage_usd_per_mtok_hour = 1\nstorage_unit_s = 60\nttl_s = 600\nrefresh = 0\nmin_tokens = 1024\ngranularity_tokens = 128\nsource = hand-written seed\n'),
    ('pricing', 'implicit_crlf.pricing',
     'name = auto\r\nexplicit = 0\r\nttl_s = 300\r\nrefresh = 1\r\ncreation_usd_per_mtok = 0\r\n'),
    ('profile', 'bad.profile',
     'kind = model\nname = bad\nn_layers = -1\nhidden = 6e\n# café\nn_kv_heads = 3\n'),
    ('profile', 'hardware.profile',
     '# every hardware key\nkind = hardware\nname = all-keys\npeak_fp32_flop_per_s = 67e12\npeak_tf32_flop_per_s = 494.5e12\npeak_fp16_flop_per_s = 989.5e12\npeak_bf16_flop_per_s = 989.5e12\npeak_fp8_flop_per_s = 1979e12\nhbm_bytes = 80e9\nhbm_bytes_per_s = 3.35e12\npcie_bytes_per_s = 64e9\npcie_latency_s = 10e-6\nnvlink_bytes_per_s = 450e9\nnvlink_latency_s = 5e-6\ndram_bytes = 256e9\ndram_bytes_per_s = 76.8e9\nnvme_bytes = 3.84e12\nnvme_bytes_per_s = 7e9\nnvme_latency_s = 100e-6\nnet_bytes_per_s = 50e9\nnet_latency_s = 10e-6\neff_link = 0.8\neff_linear = 0.7\neff_attn = 0.5\neff_mem = 0.8\nstep_overhead_s = 1e-3\nitem_overhead_s = 1e-5\n'),
    ('profile', 'minimal_crlf.profile',
     'kind = hardware\r\nname = x\r\npeak_fp32_flop_per_s = 1e12 # c\r\nhbm_bytes = 1e9\r\nhbm_bytes_per_s = 1e11\r\npcie_bytes_per_s = 1e10\r\ndram_bytes = 1e10\r\ndram_bytes_per_s = 1e10\r\nnvme_bytes_per_s = 0\r\neff_mem = 4'),
    ('profile', 'model.profile',
     '# a hand-written model\nkind = model\nname = m\nn_layers = 2\nhidden = 64\nn_heads = 4\nn_kv_heads = 2\nhead_dim = 16\nffn = 128\nvocab = 256\ndtype = bf16\nkv_dtype = fp8\nqkv_bias = true\ntie_embeddings = 0\nrope_theta = 1e4\nnorm_eps = 1e-6\n'),
    ('rag', 'empty_ctxs.json',
     '[{"question": "q", "answers": [""], "ctxs": []}]'),
    ('rag', 'two.json',
     '[{"question": "Where is Paris?", "answers": ["France"], "ctxs": [{"title": "Paris", "text": "Paris is in France."}, {"title": "", "text": "Rome is in Italy."}]},\n {"question": "Where is Rome?", "answers": "Italy", "ctxs": [{"text": "Rome is in Italy."}]}]\n'),
    ('report', 'cost.csv',
     'pricing,ttl_s,total_usd,input_uncached_usd,cache_write_usd,cache_read_usd,storage_usd,creation_fee_usd,hit_fee_usd,output_usd,read_tokens,written_tokens,uncached_tokens,objects,hits,token_hours_stored,operator_usd\ngemini-explicit,60,3.39,1.01,0.28,0.05,0.02,0,0,2.01,1969744,942432,3375547,650,1676,22041.5,0.31\n'),
    ('report', 'mrc.csv',
     'capacity_blocks,miss_ratio,token_hit_ratio,policy,mode,method,sample_rate,seed\n500,0.77,0.22,"lru",prefix,exact,1,\n1000,0.67,0.33,"lru",prefix,exact,1,\n'),
    ('sharegpt', 'multiturn.json',
     '[{"id": "a", "conversations": [{"from": "system", "value": "Be brief."}, {"from": "human", "value": "Hi?"}, {"from": "gpt", "value": "Hello."}, {"from": "human", "value": "Bye"}]}]\n'),
    ('sharegpt', 'unicode.json',
     '[\n  {"id": "x", "conversations": [{"from": "user", "value": "caf\\u00e9 \\u4e2d\\u6587 \\ud83d\\ude00"}, {"from": "assistant", "value": ""}]},\n  {"id": "y", "conversations": [{"from": "gpt", "value": "only a reply"}]}\n]\n'),
    ('sweepspec', 'conc.spec',
     'trace = x\ncapacity_blocks = 1\nconcurrency = dedup\nseed = 3 # c\n'),
    ('sweepspec', 'example.spec',
     "# An example sweep for `ctxcache sweep` (every key: docs/sweep.md).\n#\n#   ctxcache sweep examples/sweep.spec -o sweep.h5\n#   mpirun -np 2 ctxcache sweep examples/sweep.spec -o sweep.h5\n#\n# The built-in default workload (the one `make run` uses), generated in\n# memory with the seed below, replayed through one prefix-cache tier: three\n# eviction policies and a time-to-live policy at three capacities, with and\n# without a 10-minute TTL, at two block sizes -- 1 x 2 x 4 x 3 x 2 = 48 points\n# (trace x block_size x policy x capacity x ttl).  Each key takes a list of\n# values separated by commas; the grid is every combination.\n\ntrace = default                     # or paths: build/run/default.h5, other.jsonl\nblock_size = 16, 64                 # tokens per block ('trace' = the trace's own)\npolicy = lru, s3fifo, arc, ttl      # NAME or NAME(key=value,...)\ncapacity_blocks = 1000, 5000, 20000 # per point; 'inf' = unbounded\nttl_s = none, 600                   # passed to policies that take ttl_s (ttl)\npricing = none                      # pricing presets (when built with them)\nmode = prefix                       # prefix | independent\nconcurrency = none                  # none | immediate | after-complete | dedup\nseed = 1                            # policies and the generated workload\nthreads = 0                         # 0 = one per CPU\noutput = sweep.h5                   # -o overrides\n"),
    ('sweepspec', 'lists.spec',
     'trace = a.h5, b.jsonl\npolicy = ttl(ttl_s=5,refresh=0), lru\ncapacity_blocks = 1\nttl_s = none, 0.5\nblock_size = trace, 16\nmode = independent\n'),
    ('sweepspec', 'minimal.spec',
     'trace = default\ncapacity_blocks = 10, inf\n'),
    ('tokenizer_json', 'bpe_bytelevel.json',
     '{"added_tokens":[{"id":5,"content":"<|end|>","special":true}],"pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false,"use_regex":true},"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2,"\\u0120":3,"\\u0120ab":4},"merges":["a b","\\u0120 ab"]}}'),
    ('tokenizer_json', 'bpe_metaspace.json',
     '{"pre_tokenizer":{"type":"Metaspace","replacement":"\\u2581","prepend_scheme":"first","split":true},"model":{"type":"BPE","unk_token":"<unk>","fuse_unk":true,"byte_fallback":true,"vocab":{"<unk>":0,"<0x41>":1,"\\u2581":2,"a":3,"\\u2581a":4},"merges":["\\u2581 a"]}}'),
    ('tokenizer_json', 'bpe_split_pairs.json',
     '{"normalizer":{"type":"NFC"},"pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":"\\\\p{N}{1,3}| ?\\\\p{L}+|\\\\s+(?!\\\\S)|\\\\s+"},"behavior":"Isolated","invert":false},{"type":"ByteLevel","add_prefix_space":false,"use_regex":false}]},"model":{"type":"BPE","ignore_merges":true,"vocab":{"a":0,"b":1,"ab":2,"1":3},"merges":[["a","b"]]}}'),
    ('tokenizer_json', 'wordlevel_seq.json',
     '{"normalizer":{"type":"Sequence","normalizers":[{"type":"NFKC"},{"type":"Lowercase"},{"type":"Replace","pattern":{"String":"x"},"content":"y"},{"type":"Strip","strip_left":true,"strip_right":true}]},"pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"WhitespaceSplit"},{"type":"Punctuation","behavior":"Contiguous"},{"type":"Digits","individual_digits":true}]},"model":{"type":"WordLevel","unk_token":"?","vocab":{"?":0,"the":1}}}'),
    ('tokenizer_json', 'wordpiece_bert.json',
     '{"added_tokens":[{"id":1,"content":"[CLS]","special":true,"normalized":false}],"normalizer":{"type":"BertNormalizer","lowercase":true,"strip_accents":null,"clean_text":true,"handle_chinese_chars":true},"pre_tokenizer":{"type":"BertPreTokenizer"},"model":{"type":"WordPiece","unk_token":"[UNK]","continuing_subword_prefix":"##","max_input_chars_per_word":20,"vocab":{"[UNK]":0,"[CLS]":1,"the":2,"##s":3,"!":4}}}'),
]

# Seeds for the built-in tokenizer harness (fuzz_tokenize): the shapes its
# pre-tokenizer splits differently.
TEXT_SEEDS += [
    ("tokenize", "mixed.txt",
     "The quick brown fox, naïve café; 中文 日本語 🎉 It's 2024-01-31: x=1;y=22 <|end|>\n\n\t end"),
    ("tokenize", "digits.txt", "1234567890 3.14159 -42 0x1f 1e9\n"),
    ("tokenize", "spaces.txt", "a  b   c\t\t\td\r\n\r\n    e"),
    ("tokenize", "word.txt", "x" * 200),
    ("tokenize", "empty.txt", ""),
]

# The bench gate (fuzz_bench_gate): a run compared with itself, and a
# baseline NUL current pair with gate settings.
TEXT_SEEDS += [
    ("bench_gate", "self.json",
     '{"replay": {"block_hit_ratio": 0.5, "miss_ratio": 0.25, "points": [{"x": 1}, {"x": 2e-3}]},'
     ' "wall_clock": ["t_s"], "t_s": 1.5, "machine": {"cpus": 2}, "name": "run"}\n'),
    ("bench_gate", "pair.json",
     '{"gate": {"tolerance_pct": 2, "metrics": {"a.p99_s": {"direction": "lower", "bound": "<= 3"},'
     ' "b": {"optional": true}, "c_ci_lo": {"direction": "ignore"}}},'
     ' "a": {"p99_s": 2.0, "hit_ratio": 0.9}, "b": 1, "c_ci_lo": 0.1}\0'
     '{"a": {"p99_s": 2.5, "hit_ratio": 0.8}, "c_ci_lo": 0.2, "new": 7}\n'),
]

# libCacheSim oracleGeneral: (timestamp u32, obj_id u64, size u32, next i64)
ORACLE_SEEDS = {
    "aba.oracleGeneral": [(0, 170, 1, 3), (0, 187, 1, -1), (3, 170, 1, -1)],
    "cut_and_unknown.oracleGeneral": [(10, 42, 100, 3), (10, 43, 7, 2**63 - 1),
                                      (12, 42, 100, 99), (4000000000, 44, 4096, -2)],
    "one.oracleGeneral": [(5, 7, 512, -1)],
}

# The safetensors harness's model: 1 layer, hidden 8, 2 heads of 4, 1 KV
# head, FFN 8, vocabulary 8 (fuzz/fuzz_safetensors.c).
TENSORS = [("model.embed_tokens.weight", [8, 8]), ("model.norm.weight", [8]),
           ("lm_head.weight", [8, 8]), ("model.layers.0.input_layernorm.weight", [8]),
           ("model.layers.0.self_attn.q_proj.weight", [8, 8]),
           ("model.layers.0.self_attn.k_proj.weight", [4, 8]),
           ("model.layers.0.self_attn.v_proj.weight", [4, 8]),
           ("model.layers.0.self_attn.o_proj.weight", [8, 8]),
           ("model.layers.0.post_attention_layernorm.weight", [8]),
           ("model.layers.0.mlp.gate_proj.weight", [8, 8]),
           ("model.layers.0.mlp.up_proj.weight", [8, 8]),
           ("model.layers.0.mlp.down_proj.weight", [8, 8])]


def half_bits(x):
    return struct.unpack("<H", struct.pack("<e", x))[0]


def safetensors(dtype, skip=None):
    """A checkpoint of TENSORS in dtype (F32, F16, BF16), values k/64."""
    width = {"F32": 4, "F16": 2, "BF16": 2}[dtype]
    header = {"__metadata__": {"format": "pt"}}
    data = bytearray()
    k = 0
    for name, shape in TENSORS:
        if name == skip:
            continue
        n = 1
        for d in shape:
            n *= d
        start = len(data)
        for _ in range(n):
            x = ((k % 17) - 8) / 64.0
            k += 1
            if dtype == "F32":
                data += struct.pack("<f", x)
            elif dtype == "F16":
                data += struct.pack("<H", half_bits(x))
            else:
                data += struct.pack("<f", x)[2:]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [start, start + n * width]}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + bytes(data)


def write(out, harness, name, data):
    d = os.path.join(out, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def h5_seeds(out, exe):
    """Traces, a results file and a sweep file, made by the command."""
    for h in ("h5", "report"):
        os.makedirs(os.path.join(out, h), exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        def run(*args):
            subprocess.run([exe, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
        src = {n: s for h, n, s in TEXT_SEEDS}
        for name, fmt, text in [("hash_only.h5", "mooncake", src["small.jsonl"]),
                                ("rich.h5", "sharegpt", src["multiturn.json"])]:
            p = os.path.join(tmp, name + ".in")
            with open(p, "w") as f:
                f.write(text)
            o = os.path.join(tmp, name)
            run("trace", "convert", p, o, "--format", fmt, "--to", "h5")
            shutil.copy(o, os.path.join(out, "h5", name))
            if name == "hash_only.h5":
                r = os.path.join(tmp, "results.h5")
                run("replay", o, "--tiers", "hbm:64", "-o", r)
                shutil.copy(r, os.path.join(out, "report", "results.h5"))
        spec = os.path.join(tmp, "sweep.spec")
        with open(spec, "w") as f:
            f.write("trace = %s\nblock_size = trace\npolicy = lru, fifo\ncapacity_blocks = 16, 64\n"
                    % os.path.join(tmp, "hash_only.h5"))
        s = os.path.join(tmp, "sweep.h5")
        try:
            run("sweep", spec, "-o", s, "--threads", "1")
            shutil.copy(s, os.path.join(out, "report", "sweep.h5"))
        except subprocess.CalledProcessError:
            print("make_corpus: note: no sweep.h5 seed (the sweep spec was refused)")


def main():
    args = sys.argv[1:]
    exe = None
    if "--ctxcache" in args:
        i = args.index("--ctxcache")
        exe = args[i + 1]
        del args[i:i + 2]
    out = args[0] if args else "build/fuzz-corpus"
    for h, n, s in TEXT_SEEDS:
        write(out, h, n, s)
    for n, recs in ORACLE_SEEDS.items():
        write(out, "lcs_oracle", n, b"".join(struct.pack("<IQIq", *r) for r in recs))
    for dt in ("F32", "F16", "BF16"):
        write(out, "safetensors", "valid_%s.safetensors" % dt.lower(), safetensors(dt))
    write(out, "safetensors", "missing_tensor.safetensors",
          safetensors("F32", skip="model.layers.0.mlp.up_proj.weight"))
    if exe:
        h5_seeds(out, exe)
    else:
        print("make_corpus: note: no HDF5 seeds (give --ctxcache PATH)")
    print("make_corpus: seeds in %s" % out)


main()
