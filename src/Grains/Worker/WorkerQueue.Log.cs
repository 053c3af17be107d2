using Microsoft.Extensions.Logging;

namespace OrleansLlm.Worker;

public sealed partial class WorkerQueue
{
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
    private static partial void LogRetry(ILogger logger, int attempt, TimeSpan delay, string error);
}
