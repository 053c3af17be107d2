using System.Text.Json.Serialization;

namespace OrleansLlm.Webhooks;

/// <summary>An event given up on, as the dead list keeps it (<c>QUEUE:webhook-dead</c>).</summary>
/// <param name="Published">When it was published (Unix ms, Redis clock).</param>
/// <param name="Died">When it was given up on (Unix ms, Redis clock).</param>
/// <param name="Reason">Why: the attempts and the last error, e.g. <c>gave up after 9 attempts in 259200 s (...): HTTP 503</c>.</param>
/// <param name="Body">The event as it would have been sent.</param>
public sealed record DeadWebhook(string Id, string Type, string Batch, long Published, int Attempts, long Died, string Reason, string Body);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(DeadWebhook))]
internal sealed partial class WebhookJson : JsonSerializerContext;
