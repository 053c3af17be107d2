using Orleans.Placement;

namespace OrleansLlm.Placement;

/// <summary>
/// Places a grain on the silo whose address is its string key. Used for the worker, which must run beside
/// the Ollama it calls.
/// </summary>
/// <remarks>
/// <c>[PreferLocalPlacement]</c> is not enough: it places a grain on whichever silo first calls it, so a call from
/// a client or another silo would put a worker on the wrong host. Keying by silo address makes the placement a
/// property of the grain id, so exactly one worker exists per silo and no caller can move it.
/// </remarks>
[Serializable, GenerateSerializer, Immutable, SuppressReferenceTracking]
public sealed class SiloLocalPlacement : PlacementStrategy
{
    internal static SiloLocalPlacement Singleton { get; } = new();
}

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class SiloLocalPlacementAttribute() : PlacementAttribute(SiloLocalPlacement.Singleton);
