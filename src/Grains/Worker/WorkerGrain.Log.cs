using Microsoft.Extensions.Logging;

namespace OrleansLlm.Worker;

public sealed partial class WorkerGrain
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Worker {Worker} started: Ollama {OllamaUrl}, model {Model}, concurrency {Limit}")]
    private static partial void LogStarted(ILogger logger, string worker, Uri ollamaUrl, string model, int limit);

    [LoggerMessage(Level = LogLevel.Information, Message = "Worker {Worker} draining: {InFlight} in flight, up to {Timeout}")]
    private static partial void LogDraining(ILogger logger, string worker, int inFlight, TimeSpan timeout);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Handed {Released} unfinished items of {Worker} back to the queue, first in their turn")]
    private static partial void LogReleased(ILogger logger, int released, string worker);

    [LoggerMessage(Level = LogLevel.Information, Message = "Handed {Released} items {Worker} had leased ahead back to the queue, first in their turn")]
    private static partial void LogReleasedBuffered(ILogger logger, int released, string worker);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Handing {Count} items leased ahead back failed; they are handed back once Redis answers again")]
    private static partial void LogReleaseBufferedFailed(ILogger logger, Exception ex, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Worker {Worker} drained after {Completed} items")]
    private static partial void LogDrained(ILogger logger, string worker, long completed);

    [LoggerMessage(Level = LogLevel.Information, Message = "Worker {Worker} undrained: it takes work again")]
    private static partial void LogUndrained(ILogger logger, string worker);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Worker {Worker} deactivated before its silo stopped ({Reason}); the silo lifecycle restarts it")]
    private static partial void LogUnexpectedDeactivation(ILogger logger, string worker, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "The pump of worker {Worker} stopped unexpectedly; restarting it")]
    private static partial void LogPumpStopped(ILogger logger, Exception? ex, string worker);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Leasing from Redis failed; retrying")]
    private static partial void LogLeaseFailed(ILogger logger, Exception ex);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Handed {Released} leases back that Redis held for {Worker} but it did not know of (a reply lost while Redis was away), first in their turn")]
    private static partial void LogReleasedUnknown(ILogger logger, int released, string worker);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Looking for leases this worker does not know of failed; it looks again before its next lease")]
    private static partial void LogReleaseUnknownFailed(ILogger logger, Exception ex);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis failed while handling lease {LeaseId} (a read before Ollama: the batch's spec, a raw item's repeated-id check; or recording its outcome); the item is handed back once Redis answers again, and retried")]
    private static partial void LogRecordFailed(ILogger logger, Exception ex, string leaseId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Renewing leases failed")]
    private static partial void LogRenewFailed(ILogger logger, Exception ex);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reporting to the coordinator failed: {Error}")]
    private static partial void LogReportFailed(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Telling the coordinator of work found failed ({Error}); the idle workers find it when their wait ends")]
    private static partial void LogWakeFailed(ILogger logger, string error);
}
