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

    [LoggerMessage(Level = LogLevel.Debug, Message = "Item {ItemId} of batch {BatchId} done (lease {LeaseId})")]
    private static partial void LogCompleted(ILogger logger, string itemId, string batchId, string leaseId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease {LeaseId} failed (attempt {Attempt}); retrying in {RetryAfter}: {Error}")]
    private static partial void LogFailed(ILogger logger, string leaseId, int attempt, TimeSpan retryAfter, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dead-lettered lease {LeaseId}: {Reason}")]
    private static partial void LogDeadLettered(ILogger logger, string leaseId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease {LeaseId} handed back for another silo, no attempt spent: {Error}")]
    private static partial void LogBackendFault(ILogger logger, string leaseId, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Item {ItemId} of batch {BatchId} answered after lease {LeaseId} had gone back and the item had ended elsewhere; the answer is dropped")]
    private static partial void LogLate(ILogger logger, string itemId, string batchId, string leaseId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Lease {LeaseId} failed ({Error}) after its batch was cancelled or expired; the item is removed")]
    private static partial void LogRemoved(ILogger logger, string leaseId, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Item {ItemId} (lease {LeaseId}) was delivered again after its result was stored; dropped as a duplicate")]
    private static partial void LogAlreadyDone(ILogger logger, string itemId, string leaseId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Recording an item's outcome in Redis failed (attempt {Attempt}); trying again in {Delay}: {Error}")]
    private static partial void LogSettleRetry(ILogger logger, int attempt, TimeSpan delay, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Settling lease {LeaseId} failed; it will expire and be retried")]
    private static partial void LogSettleFailed(ILogger logger, Exception ex, string leaseId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Renewing leases failed")]
    private static partial void LogRenewFailed(ILogger logger, Exception ex);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reporting to the coordinator failed: {Error}")]
    private static partial void LogReportFailed(ILogger logger, string error);
}
