using Microsoft.Extensions.Logging;

namespace OrleansLlm.Api.Batches;

public sealed partial class OpenAiBatchGrain
{
    [LoggerMessage(Level = LogLevel.Information, Message = "API batch {BatchId} submitted for {Model}")]
    private static partial void LogSubmitted(ILogger logger, string batchId, string model);

    [LoggerMessage(Level = LogLevel.Information, Message = "API batch {BatchId} failed validation ({Count} errors, first: {First})")]
    private static partial void LogRefused(ILogger logger, string batchId, int count, string first);

    [LoggerMessage(Level = LogLevel.Warning, Message = "API batch {BatchId}: validation stopped; it starts over on the next read or sweep")]
    private static partial void LogValidationFailed(ILogger logger, string batchId, Exception ex);

    [LoggerMessage(Level = LogLevel.Information, Message = "API batch {BatchId} ended {Status}: {Completed} completed, {Failed} failed")]
    private static partial void LogEnded(ILogger logger, string batchId, string status, long completed, long failed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "API batch {BatchId}: telling of its end failed; it is told again on the next read or sweep")]
    private static partial void LogPublishFailed(ILogger logger, string batchId, Exception ex);
}
