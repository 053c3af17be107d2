namespace OrleansLlm.Webhooks;

/// <summary>An event a sender holds until <see cref="WebhookOptions.LeaseDuration"/> passes, to deliver it.</summary>
/// <param name="Id">The event's id, also its <c>webhook-id</c>: the same on every attempt, so receivers can dedupe by it.</param>
/// <param name="Token">This lease's token: a failed attempt counts only while the lease is still this one.</param>
/// <param name="Attempts">Attempts so far, this one included.</param>
/// <param name="Body">The JSON sent, byte for byte the same on every attempt.</param>
public sealed record WebhookLease(string Id, string Token, int Attempts, string Body);
