import assert from "node:assert/strict";
import { readableLine } from "../../scripts/stack/emulator-output";

describe("npm start's terminal: firebase-tools' output as a person reads it", () => {
  it("function lines lose the emulator's JSON tail", () => {
    const line =
      'i  functions: Finished "us-central1-getCredits" in 274.383113ms {"metadata":{"emulator":{"name":"functions"},"function":{"name":"us-central1-getCredits"},"extension":{},"message":"Finished \\"us-central1-getCredits\\" in 274.383113ms"}}';
    assert.equal(readableLine(line), 'i  functions: Finished "us-central1-getCredits" in 274.383113ms');
  });

  it("a function's log line shows level, function and message; DEBUG lines are left to the log file", () => {
    const warning =
      '>  {"event":"credit_ledger_unavailable","uid":"u1","severity":"WARNING","message":"Fleet credit figure unreachable"} {"user":{"event":"credit_ledger_unavailable","severity":"WARNING","message":"Fleet credit figure unreachable"},"metadata":{"emulator":{"name":"functions"},"function":{"name":"us-central1-recordTranscriptionUsage"},"extension":{},"message":"x"}}';
    assert.equal(readableLine(warning), ">  WARNING recordTranscriptionUsage: Fleet credit figure unreachable [credit_ledger_unavailable]");
    const debug =
      '>  {"verifications":{"app":"MISSING","auth":"VALID"},"severity":"DEBUG","message":"Callable request verification passed"} {"user":{},"metadata":{"function":{"name":"us-central1-getCredits"}}}';
    assert.equal(readableLine(debug), undefined);
  });

  it("the Java Firestore emulator's chatter, worker env lines and the Hosting emulator's access log stay in the log file", () => {
    for (const line of [
      "INFO: Detected HTTP/2 connection.",
      "Dec 03, 2026 9:00:57 AM io.gapi.emulators.netty.HttpVersionRoutingHandler channelRead",
      ' {"metadata":{"emulator":{"name":"firestore"},"message":"Dec 03, 2026 9:00:57 AM io.gapi.emulators.netty.HttpVersionRoutingHandler channelRead\\nINFO: Detected HTTP/2 connection.\\n"}}',
      "i  functions: Loaded environment variables from functions/.env.local ",
      'i  hosting: 127.0.0.1 - - [03/Dec/2026:10:51:25 +0000] "GET /cacheStats HTTP/1.1" 200 - "-" "curl/7.88.1" {"metadata":{"emulator":{"name":"hosting"},"message":"x"}}',
    ]) {
      assert.equal(readableLine(line), undefined, line);
    }
  });

  it("a Java stack trace is one line in the terminal, and none for a duplicate usage report the emulator refuses by design", () => {
    const duplicate = [
      "com.google.cloud.datastore.core.exception.DatastoreException: entity already exists: EntityRef{partitionRef=dev~demo-voice-cache, path=/users/MWJT/usage_reports/s1-0001}",
      "\tat com.google.cloud.datastore.core.exception.DatastoreException.withProblem(DatastoreException.java:207)",
      "\tat io.grpc.internal.ServerCallImpl$ServerStreamListenerImpl.halfClosed(ServerCallImpl.java:356)",
      "\tat java.base/java.lang.Thread.run(Thread.java:840)",
      "Caused by: java.lang.IllegalStateException: x",
      "\t... 12 more",
    ];
    for (const line of duplicate) assert.equal(readableLine(line), undefined, line);
    const other = "com.google.cloud.datastore.core.exception.DatastoreException: too much contention on these documents";
    assert.equal(readableLine(other), `!  firestore: ${other} (its stack trace is in the emulator log)`);
  });

  it("anything else passes as it is", () => {
    assert.equal(readableLine("✔  All emulators ready! It is now safe to connect your app."), "✔  All emulators ready! It is now safe to connect your app.");
    assert.equal(readableLine(">  not json at all"), ">  not json at all");
  });
});
