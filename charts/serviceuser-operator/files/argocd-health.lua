-- Argo CD health check for identity.serviceuser.dev/ServiceUser (Lua 5.1).
--
-- Install it in argocd-cm under
--   resource.customizations.health.identity.serviceuser.dev_ServiceUser
--
-- The operator's conditions describe one spec generation each, so a condition is believed only
-- when it was written for the object's current generation. The verdicts, first match wins:
--   Degraded     Degraded=True for the current generation: something the user must fix (the
--                message is that condition's)
--   Suspended    spec.suspend is true: the operator makes no remote change, whatever it reports
--   Progressing  no status yet, or the status or a condition describes an older generation
--   Progressing  Progressing=True or status.pending set: a creation, rotation or retirement is
--                under way
--   Healthy      Ready=True
--   Progressing  anything else (Ready False or Unknown: the operator is still working on it)
local hs = {}

local function findCondition(conditions, kind)
  if type(conditions) ~= "table" then
    return nil
  end
  for _, c in ipairs(conditions) do
    if type(c) == "table" and c.type == kind then
      return c
    end
  end
  return nil
end

-- A condition, or the status itself, written for an older generation than the object's.
local function stale(observed, generation)
  if generation == nil then
    return false
  end
  return observed == nil or tonumber(observed) < tonumber(generation)
end

local function conditionStale(c, generation)
  return c ~= nil and c.observedGeneration ~= nil and stale(c.observedGeneration, generation)
end

local function describe(c, fallback)
  if c == nil then
    return fallback
  end
  local text = c.message
  if text == nil or text == "" then
    text = fallback
  end
  if c.reason ~= nil and c.reason ~= "" then
    return c.reason .. ": " .. text
  end
  return text
end

local generation = nil
if obj.metadata ~= nil then
  generation = obj.metadata.generation
end
local status = obj.status
local suspended = obj.spec ~= nil and obj.spec.suspend == true

local ready, progressing, degraded = nil, nil, nil
local current = false
if type(status) == "table" then
  ready = findCondition(status.conditions, "Ready")
  progressing = findCondition(status.conditions, "Progressing")
  degraded = findCondition(status.conditions, "Degraded")
  current = not (stale(status.observedGeneration, generation) or conditionStale(ready, generation) or
    conditionStale(degraded, generation) or conditionStale(progressing, generation))
end

if current and degraded ~= nil and degraded.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(degraded, "The ServiceUser needs attention")
  return hs
end

if suspended then
  hs.status = "Suspended"
  hs.message = "spec.suspend is true: no identity is created, rotated or retired"
  return hs
end

if type(status) ~= "table" then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to report status"
  return hs
end

if not current then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  return hs
end

local pending = type(status.pending) == "table" and status.pending.operation ~= nil
if (progressing ~= nil and progressing.status == "True") or pending then
  hs.status = "Progressing"
  hs.message = describe(progressing, "A remote change is under way")
  return hs
end

if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready, "The token in the Secret belongs to a live identity")
  return hs
end

hs.status = "Progressing"
hs.message = describe(ready, "Waiting for the Ready condition")
return hs
