namespace OrleansLlm.Webhooks;

/// <summary>How one delivery attempt ended, as the metrics count it.</summary>
public enum WebhookAttemptOutcome
{
    /// <summary>The receiver answered 2xx: the event is done.</summary>
    Delivered,

    /// <summary>Anything else; the event is due again after a delay.</summary>
    Retrying,

    /// <summary>Anything else, and the next attempt would pass the max age: the event went to the dead list.</summary>
    Dead,

    /// <summary>The attempt failed after its lease ran out: another silo holds the event now, and decides.</summary>
    Fenced,
}
