namespace OrleansLlm;

/// <param name="Silo">The full address of the silo.</param>
/// <param name="WasDrained">True when its worker was drained and now takes work again; false when it was active already.</param>
[GenerateSerializer, Immutable, Alias("OrleansLlm.UndrainResult")]
public sealed record UndrainResult(
    [property: Id(0)] string Silo,
    [property: Id(1)] bool WasDrained);
