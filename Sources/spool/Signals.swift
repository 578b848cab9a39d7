import SpoolIngest
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The stop flag that SIGINT and SIGTERM set; the running command polls it.
let stopRequested = StopSignal()
/// How many SIGINT/SIGTERM arrived; a second SIGINT ends the process at once.
let signalsReceived = Atomic<Int>(0)
/// Whether the handler should say that it is stopping.
let announceStop = Atomic<Bool>(true)

private let stoppingMessage: StaticString = "spool: stopping after the current batch (Ctrl-C again quits at once; still safe)\n"

/// Installs the handlers: the first SIGINT or SIGTERM asks for an orderly stop (the current
/// transaction finishes or rolls back), a second SIGINT exits at once, which is still safe
/// because every batch is one SQLite transaction.
func installStopHandlers(announce: Bool) {
    announceStop.store(announce, ordering: .relaxed)
    signal(SIGINT, handleStopSignal)
    signal(SIGTERM, handleStopSignal)
    // A parent may start us with these signals blocked (the mask is inherited); unblock them
    // before librdkafka starts its threads, which block every signal themselves.
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, SIGINT)
    sigaddset(&set, SIGTERM)
    pthread_sigmask(SIG_UNBLOCK, &set, nil)
}

private func handleStopSignal(_ number: Int32) {
    let count = signalsReceived.add(1, ordering: .relaxed).newValue
    if count >= 2 && number == SIGINT {
        _exit(130)
    }
    stopRequested.stop()
    if count == 1 && announceStop.load(ordering: .relaxed) {
        // write(2) is async-signal-safe and the message is static.
        _ = write(STDERR_FILENO, stoppingMessage.utf8Start, stoppingMessage.utf8CodeUnitCount)
    }
}
