// Verifies an incident's evidence against the ledger in the browser, with
// the browser's own cryptography (WebCrypto SHA-256 and Ed25519), not the
// server's word: for each item, its ledger entry must name the record
// shown, hash to the leaf, lead by its audit path (RFC 9162 §2.1.3.2) to
// the root of a checkpoint signed by the verifier key given (C2SP signed
// note), and, when asked, the file itself must hash to what the entry
// says. The console's only script; served from this origin, no library.
"use strict";
(() => {
  const enc = new TextEncoder();
  const b64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  const hex = (u) => Array.from(u, (b) => b.toString(16).padStart(2, "0")).join("");
  const equal = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
  const concat = (...parts) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  };
  const sha256 = async (bytes) => new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const leafHash = (entry) => sha256(concat(Uint8Array.of(0), entry));
  const nodeHash = (l, r) => sha256(concat(Uint8Array.of(1), l, r));

  // The root an inclusion proof leads to (RFC 9162 §2.1.3.2). Indices may
  // pass 2^31: halved with arithmetic, not bit shifts.
  async function rootFromInclusion(index, size, leaf, path) {
    if (!(index < size)) throw new Error(`leaf ${index} is not in a tree of ${size}`);
    let fn = index;
    let sn = size - 1;
    let r = leaf;
    const half = (x) => Math.floor(x / 2);
    for (const p of path) {
      if (sn === 0) throw new Error("the audit path is too long");
      if (fn % 2 === 1 || fn === sn) {
        r = await nodeHash(p, r);
        if (fn % 2 === 0) {
          while (fn % 2 === 0 && fn !== 0) {
            fn = half(fn);
            sn = half(sn);
          }
        }
      } else {
        r = await nodeHash(r, p);
      }
      fn = half(fn);
      sn = half(sn);
    }
    if (sn !== 0) throw new Error("the audit path is too short");
    return r;
  }

  // A checkpoint (C2SP tlog-checkpoint in a signed note) checked against a
  // verifier key `name+keyid+base64(0x01 ‖ Ed25519 public key)`.
  async function verifyCheckpoint(note, vkey) {
    // name+id+key, split at the first two '+': base64 keys may hold '+'.
    const text0 = vkey.trim();
    const first = text0.indexOf("+");
    const second = first < 0 ? -1 : text0.indexOf("+", first + 1);
    if (first <= 0 || second < 0) throw new Error("the verifier key is not name+id+key");
    const [name, id, keyText] = [text0.slice(0, first), text0.slice(first + 1, second), text0.slice(second + 1)];
    if (!/^[0-9a-f]{8}$/.test(id)) throw new Error("the verifier key's id is not 8 hex digits");
    const key = b64(keyText);
    if (key.length !== 33 || key[0] !== 1) throw new Error("the verifier key is not an Ed25519 key");
    const keyId = hex((await sha256(concat(enc.encode(name + "\n"), key))).slice(0, 4));
    if (keyId !== id) throw new Error("the verifier key's id does not match its key");
    const split = note.indexOf("\n\n");
    if (split < 0) throw new Error("the checkpoint is not a signed note");
    const text = note.slice(0, split + 1);
    const lines = text.split("\n");
    if (lines[0] !== name) throw new Error(`the checkpoint is of ${lines[0]}, the key of ${name}`);
    const size = Number(lines[1]);
    if (!Number.isSafeInteger(size) || String(size) !== lines[1]) throw new Error("the checkpoint's size is malformed");
    const pub = await crypto.subtle.importKey("raw", key.slice(1), { name: "Ed25519" }, false, ["verify"]);
    for (const line of note.slice(split + 2).split("\n")) {
      const m = /^\u2014 (\S+) (\S+)$/.exec(line);
      if (!m || m[1] !== name) continue;
      const sig = b64(m[2]);
      if (sig.length !== 68 || hex(sig.slice(0, 4)) !== id) continue;
      if (await crypto.subtle.verify({ name: "Ed25519" }, pub, sig.slice(4), enc.encode(text))) {
        return { origin: lines[0], size, root: b64(lines[2]) };
      }
    }
    throw new Error("no signature by this key verifies the checkpoint");
  }

  // `stockade/evidence id=… sha256=… size=… at=… commit=…`
  function parseEntry(text) {
    const [kind, ...rest] = text.split(" ");
    const fields = { kind };
    for (const kv of rest) {
      const at = kv.indexOf("=");
      if (at > 0) fields[kv.slice(0, at)] = kv.slice(at + 1);
    }
    return fields;
  }

  async function getJSON(url) {
    const r = await fetch(url, { credentials: "same-origin", headers: { accept: "application/json" } });
    if (!r.ok) throw new Error(`${url}: ${r.status} ${(await r.text()).slice(0, 200)}`);
    return r.json();
  }

  // One item: its record as the server lists it, its proof, and (when
  // `reason` is given) its file, read for that reason.
  async function checkItem(item, proof, vkey, file) {
    const rec = item.record;
    const entry = b64(proof.entry_base64);
    const leaf = await leafHash(entry);
    if (!equal(leaf, b64(proof.leaf_hash))) throw new Error("the leaf hash is not the hash of its entry");
    const f = parseEntry(new TextDecoder().decode(entry));
    if (f.kind !== "stockade/evidence" || f.id !== rec.id) throw new Error("the ledger entry is not this item's");
    if (f.sha256 !== rec.sha256 || Number(f.size) !== rec.size) {
      throw new Error("the record shown differs from the one the ledger holds");
    }
    if (proof.leaf_index !== item.leaf_index) throw new Error("the proof is for another leaf");
    const root = await rootFromInclusion(proof.leaf_index, proof.tree_size, leaf, proof.proof.map(b64));
    if (!equal(root, b64(proof.root))) throw new Error("the audit path does not lead to the root");
    if (!proof.checkpoint) throw new Error("no signed checkpoint covers it yet");
    const cp = await verifyCheckpoint(proof.checkpoint, vkey);
    if (cp.size !== proof.tree_size || !equal(cp.root, root)) throw new Error("the checkpoint is of another tree");
    let said = `leaf ${proof.leaf_index} of ${proof.tree_size}, checkpoint signed by the key`;
    if (file) {
      if (file.length !== rec.size) throw new Error(`the file has ${file.length} bytes, the ledger says ${rec.size}`);
      if (hex(await sha256(file)) !== f.sha256) throw new Error("the file's SHA-256 is not the one the ledger holds");
      said += "; the file's SHA-256 matches";
    }
    return said;
  }

  async function run(section) {
    const out = section.querySelector("#verify-out");
    const result = section.querySelector("#verify-result");
    const say = (id, ok, text) => {
      const li = document.createElement("li");
      li.className = ok ? "ok" : "bad";
      li.textContent = `${id}: ${ok ? "verified" : "FAILED"}: ${text}`;
      out.append(li);
    };
    out.replaceChildren();
    result.dataset.state = "running";
    result.textContent = "Verifying…";
    if (!window.crypto || !crypto.subtle) {
      result.dataset.state = "failed";
      result.textContent = "This browser offers no WebCrypto here: open the console over HTTPS (or on localhost).";
      return;
    }
    const vkey = section.querySelector("#verify-key").value;
    const reason = section.querySelector("#verify-reason").value.trim();
    const files = section.querySelector("#verify-files").checked;
    if (files && !reason) {
      result.dataset.state = "failed";
      result.textContent = "Reading the files is recorded in their chain of custody: give a reason.";
      return;
    }
    const incident = section.dataset.incident;
    let items;
    try {
      items = await getJSON(`/api/v1/incidents/${encodeURIComponent(incident)}/evidence`);
    } catch (e) {
      result.dataset.state = "failed";
      result.textContent = `Could not list the evidence: ${e.message}`;
      return;
    }
    let good = 0;
    for (const item of items) {
      const id = item.record.id;
      try {
        const proof = await getJSON(`/api/v1/ledger/evidence/${encodeURIComponent(id)}/proof`);
        let file = null;
        if (files) {
          const q = new URLSearchParams({ purpose: "view", reason });
          const r = await fetch(`/api/v1/evidence/${encodeURIComponent(id)}/content?${q}`, { credentials: "same-origin" });
          if (!r.ok) throw new Error(`reading the file: ${r.status}`);
          file = new Uint8Array(await r.arrayBuffer());
        }
        say(id, true, await checkItem(item, proof, vkey, file));
        good += 1;
      } catch (e) {
        say(id, false, e.message);
      }
    }
    const all = good === items.length;
    result.dataset.state = all ? "verified" : "failed";
    result.textContent = `${good} of ${items.length} evidence items verified against the ledger in this browser${
      files ? ", files hashed" : ""
    }.${all ? "" : " Do not rely on the others."}`;
  }

  window.stockadeVerify = { rootFromInclusion, verifyCheckpoint, checkItem, parseEntry };
  const section = document.getElementById("verify");
  if (section) {
    section.hidden = false;
    section.querySelector("#verify-run").addEventListener("click", () => run(section));
  }
})();
