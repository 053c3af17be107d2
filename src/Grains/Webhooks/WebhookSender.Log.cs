using Microsoft.Extensions.Logging;

namespace OrleansLlm.Webhooks;

public sealed partial class WebhookSender
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Webhooks are off (Webhooks:Url is not set)")]
    private static partial void LogOff(ILogger logger);

    [LoggerMessage(Level = LogLevel.Error, Message = "Webhooks are not sent: {Error}")]
    private static partial void LogNoRedis(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sending webhooks to {Url} as {Owner}")]
    private static partial void LogStarted(ILogger logger, string url, string owner);

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook event {EventId}, attempt {Attempt}: {Outcome} after {Elapsed} ({Answer})")]
    private static partial void LogAttempt(ILogger logger, string eventId, int attempt, WebhookAttemptOutcome outcome, TimeSpan elapsed, string answer);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Taking due webhook events from Redis at {Endpoint} failed; trying again in {Delay}: {Error}")]
    private static partial void LogLeaseFailed(ILogger logger, string endpoint, TimeSpan delay, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "A round of webhook deliveries failed; the next starts in {Delay}, and events it held are sent again when their leases run out")]
    private static partial void LogRoundFailed(ILogger logger, TimeSpan delay, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Recording the outcome of webhook event {EventId} in Redis at {Endpoint} failed; trying again in {Delay}: {Error}")]
    private static partial void LogSettleFailed(ILogger logger, string eventId, string endpoint, TimeSpan delay, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not record the outcome of webhook event {EventId} in Redis at {Endpoint}; its lease runs out and it is sent again: {Error}")]
    private static partial void LogSettleAbandoned(ILogger logger, string eventId, string endpoint, string error);
}
